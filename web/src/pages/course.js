import { h, field, select } from '../dom.js';
import { gql, download } from '../api.js';
import { href, common, withParams, navigate } from '../state.js';
import { dur, num, time, pct } from '../format.js';
import { seriesChart, barsChart, scatterChart } from '../charts.js';
import { notices, figures, table, section } from './ui.js';
import { finder } from './site.js';
import { getViewer } from '../viewer.js';

const PARTICIPANT = `user { id fullname username }
  roles { shortname name } groups { id name } enrolment { active }
  grade { grade grademax percentage }
  stats { total events lastAccess }`;

const QUERY = `query Course($id: ID!, $range: TimeRange, $policy: PolicyInput, $g: Granularity, $tz: String,
  $order: ParticipantOrder, $filter: ParticipantFilter, $after: String, $inactiveSince: Time) {
  course(by: {id: $id}) {
    id fullname shortname
    groups { id name }
    stats(range: $range, policy: $policy, filter: $filter) {
      learners activeLearners total events mean median p90 firstAccess lastAccess
      modules { cmid type name section elapsed events learners }
      sections { id elapsed events learners }
      series(granularity: $g, timezone: $tz) { start elapsed events }
    }
    participants(first: 100, after: $after, range: $range, policy: $policy, scope: COURSE, orderBy: $order, filter: $filter) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { ${PARTICIPANT} } }
    }
    inactive: participants(first: 20, range: $range, policy: $policy, scope: COURSE, orderBy: {field: LAST_ACCESS, direction: ASC}, filter: {inactiveSince: $inactiveSince}) {
      totalCount edges { node { user { id fullname } stats { lastAccess } } }
    }
  }
}`;

// Sortable columns: the server sorts (orderBy), so the order is the API's.
const SORTS = { name: 'NAME', time: 'TOTAL', last: 'LAST_ACCESS', grade: 'GRADE', id: 'ID' };

function filterOf(p) {
  const f = {};
  if (p.minTotal) f.minTotal = Math.round(Number(p.minTotal) * 60);
  if (p.maxTotal) f.maxTotal = Math.round(Number(p.maxTotal) * 60);
  if (p.inactiveSince) f.inactiveSince = p.inactiveSince;
  if (p.group) f.groups = [p.group];
  if (p.role) f.roles = [p.role];
  if (p.never === '1') f.neverActive = true;
  return Object.keys(f).length ? f : null;
}

function orderOf(p) {
  const [key, dir] = (p.sort || 'id:asc').split(':');
  return { field: SORTS[key] || 'ID', direction: dir === 'desc' ? 'DESC' : 'ASC' };
}

// A token narrower than the site cannot list courses: it is offered its own
// courses and an id to open (a group token's course is not named by the API).
function courseOpener(st, v) {
  const byId = h('input', { type: 'text', inputmode: 'numeric', name: 'id', required: true });
  const open = h('form.finder', field('Open course by id', byId), h('button', { type: 'submit' }, 'Open'));
  open.addEventListener('submit', (e) => {
    e.preventDefault();
    if (byId.value.trim()) navigate(href('course', byId.value.trim(), st.params));
  });
  return h('div.page', h('h1', 'Courses'),
    v.courseIds.length ? h('ul.list', v.courseIds.map((id) => h('li', h('a', { href: href('course', id, st.params) }, `Course ${id}`)))) : null,
    v.groupIds.length ? h('p', `This token reads group${v.groupIds.length > 1 ? 's' : ''} ${v.groupIds.join(', ')}: open ${v.groupIds.length > 1 ? 'their course' : 'its course'} by id${st.params.group ? `, shown for group ${st.params.group}` : ''}.`) : null,
    open);
}

async function courseList(st) {
  const v = getViewer();
  if (v && !v.site) return courseOpener(st, v);
  return finder('course', st, async (q) => {
    const { data } = await gql('query($q: String) { courses(first: 50, filter: {search: $q}, orderBy: {field: FULLNAME}) { totalCount edges { node { id fullname shortname } } } }', { q: q || null });
    const cs = data.courses.edges.map((e) => e.node);
    return h('div', h('p', `${data.courses.totalCount} course(s)`),
      h('ul.list', cs.map((c) => h('li', h('a', { href: href('course', c.id, st.params) }, c.fullname), ` (${c.shortname})`))));
  });
}

export async function coursePage(st) {
  if (!st.id) return courseList(st);
  const p = st.params;
  const filter = filterOf(p);
  const order = orderOf(p);
  const vars = { ...common(p), id: st.id, filter, order, inactiveSince: p.from || null };
  const { data, errors } = await gql(QUERY, vars);
  const c = data.course;
  if (!c) return h('div', notices(errors));
  const s = c.stats;
  const rows = c.participants.edges.map((e) => e.node);
  const modName = (m) => m.name || `${m.type} ${m.cmid}`;

  const tbody = h('tbody');
  const addRows = (list) => tbody.append(...list.map(participantRow(p)));
  addRows(rows);
  let cursor = c.participants.pageInfo;
  const more = h('button', { type: 'button', hidden: !cursor.hasNextPage }, 'Load 100 more');
  more.addEventListener('click', async () => {
    more.disabled = true;
    const r = await gql(QUERY, { ...vars, after: cursor.endCursor });
    addRows(r.data.course.participants.edges.map((e) => e.node));
    cursor = r.data.course.participants.pageInfo;
    more.hidden = !cursor.hasNextPage;
    more.disabled = false;
  });

  const graded = rows.filter((r) => r.grade?.percentage !== null && r.grade?.percentage !== undefined);
  return h('div.page',
    h('h1', c.fullname, h('span.sub', ` ${c.shortname}`)),
    notices(errors),
    figures([
      ['Participants', num(s.learners), 'learners'],
      ['Active learners', num(s.activeLearners), 'active'],
      ['Total time', dur(s.total), 'total'],
      ['Mean per active', dur(s.mean), 'mean'],
      ['Median', dur(s.median), 'median'],
      ['90th percentile', dur(s.p90), 'p90'],
    ]),
    section('Participants',
      filters(p, c.groups, rows),
      exportsBar(c, p, filter, order),
      h('div.tablewrap', { tabindex: 0, role: 'region', 'aria-label': 'Participants' },
        h('table', { 'data-testid': 'participants' },
          h('caption', `${c.participants.totalCount} participant(s)`),
          h('thead', h('tr',
            sortHeader('Name', 'name', p), sortHeader('Time', 'time', p, true), sortHeader('Last access', 'last', p),
            h('th', { scope: 'col' }, 'Roles'), h('th', { scope: 'col' }, 'Groups'), sortHeader('Grade', 'grade', p, true),
            h('th', { scope: 'col' }, 'Enrolment'))),
          tbody)),
      more),
    h('div.grid2',
      section('Time over the range', seriesChart('Course time per bucket', [['time', s.series]])),
      section('Time against final grade', graded.length
        ? scatterChart('Time against final grade (participants shown)', graded.map((r) => [r.stats?.total || 0, r.grade.percentage, r.user.fullname]))
        : h('p', 'No graded participant in this list.'))),
    h('div.grid2',
      section('Activities', barsChart('Time per activity', s.modules.slice().sort((a, b) => b.elapsed - a.elapsed).slice(0, 30).map((m) => [modName(m), m.elapsed])),
        table('Activities', [
          ['Activity', (m) => modName(m)], ['Type', (m) => m.type], ['Time', (m) => dur(m.elapsed), { num: true }],
          ['Learners', (m) => num(m.learners), { num: true }], ['Events', (m) => num(m.events), { num: true }],
        ], s.modules, { 'data-testid': 'modules' })),
      section('Sections', barsChart('Time per section', s.sections.map((x) => [x.id === '0' ? 'unknown section' : `section ${x.id}`, x.elapsed])),
        table('Sections', [
          ['Section', (x) => (x.id === '0' ? 'unknown' : x.id)], ['Time', (x) => dur(x.elapsed), { num: true }],
          ['Learners', (x) => num(x.learners), { num: true }], ['Events', (x) => num(x.events), { num: true }],
        ], s.sections, { 'data-testid': 'sections' }))),
    section(`Inactive since ${p.from || 'the start'}`,
      h('p', num(c.inactive.totalCount), ' participant(s) with no counted event in the course since then.'),
      h('ul.list', c.inactive.edges.map(({ node: n }) => h('li', h('a', { href: href('learner', n.user.id, p) }, n.user.fullname), ' — last access ', time(n.stats?.lastAccess))))),
  );
}

function participantRow(p) {
  return (r) => h('tr', { 'data-user': r.user.id },
    h('td', h('a', { href: href('learner', r.user.id, p) }, r.user.fullname)),
    h('td.num', dur(r.stats?.total ?? 0)),
    h('td', time(r.stats?.lastAccess)),
    h('td', r.roles.map((x) => x.name || x.shortname).join(', ')),
    h('td', r.groups.map((x) => x.name).join(', ')),
    h('td.num', r.grade ? pct(r.grade.percentage) : '—'),
    h('td', r.enrolment.active ? 'active' : 'suspended'));
}

function sortHeader(text, key, p, numeric = false) {
  const [cur, dir] = (p.sort || 'id:asc').split(':');
  const active = cur === key;
  const next = active && dir === (numeric ? 'desc' : 'asc') ? (numeric ? 'asc' : 'desc') : (numeric ? 'desc' : 'asc');
  return h('th', { scope: 'col', 'aria-sort': active ? (dir === 'desc' ? 'descending' : 'ascending') : 'none', class: numeric ? 'num' : null },
    h('button.sort', { type: 'button', onclick: () => navigate(withParams({ sort: `${key}:${next}` })) },
      text, h('span.arrow', { 'aria-hidden': 'true' }, active ? (dir === 'desc' ? ' ▼' : ' ▲') : '')));
}

function filters(p, groups, rows) {
  const roles = [...new Set(['student', 'editingteacher', 'teacher', ...rows.flatMap((r) => r.roles.map((x) => x.shortname))])];
  const form = h('form.filters', { 'aria-label': 'Filter participants' },
    field('Min time (minutes)', h('input', { type: 'number', min: 0, name: 'minTotal', value: p.minTotal || '' })),
    field('Max time (minutes)', h('input', { type: 'number', min: 0, name: 'maxTotal', value: p.maxTotal || '' })),
    field('Inactive since', h('input', { type: 'date', name: 'inactiveSince', value: p.inactiveSince || '' })),
    field('Group', select([['', 'any'], ...groups.map((g) => [g.id, g.name])], p.group, { name: 'group' })),
    field('Role', select([['', 'any'], ...roles.map((r) => [r, r])], p.role, { name: 'role' })),
    h('div.field.check', h('input', { type: 'checkbox', id: 'never', name: 'never', value: '1', checked: p.never === '1' }), h('label', { for: 'never' }, 'Never active')),
    h('button', { type: 'submit' }, 'Filter'),
    h('button', { type: 'reset' }, 'Clear'));
  const keys = ['minTotal', 'maxTotal', 'inactiveSince', 'group', 'role', 'never'];
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    navigate(withParams(Object.fromEntries(keys.map((k) => [k, f.get(k) || undefined]))));
  });
  form.addEventListener('reset', (e) => {
    e.preventDefault();
    navigate(withParams(Object.fromEntries(keys.map((k) => [k, undefined]))));
  });
  return form;
}

// The export endpoints with the same range, policy, order and filter.
function exportsBar(c, p, filter, order) {
  const status = h('span.status', { role: 'status' });
  const params = {
    from: p.from, to: p.to, policy: p.policy,
    orderBy: order.field === 'ID' ? 'id_asc' : `${order.field.toLowerCase()}_${order.direction.toLowerCase()}`,
    minTotal: filter?.minTotal, maxTotal: filter?.maxTotal, inactiveSince: filter?.inactiveSince,
    group: filter?.groups, role: filter?.roles,
  };
  const button = (ext) => h('button', {
    type: 'button', 'data-export': ext,
    onclick: async () => {
      status.textContent = `Preparing ${ext.toUpperCase()}…`;
      try {
        await download(`/export/course/${encodeURIComponent(c.id)}/participants.${ext}`, params, `course-${c.id}-participants.${ext}`);
        status.textContent = `${ext.toUpperCase()} downloaded.`;
      } catch (e) {
        status.textContent = `Export failed: ${e.message}`;
      }
    },
  }, `Export ${ext.toUpperCase()}`);
  return h('div.exports', button('csv'), button('xlsx'), status,
    filter?.neverActive ? h('span.hint', ' (exports have no "never active" filter: use Max time 0)') : null);
}
