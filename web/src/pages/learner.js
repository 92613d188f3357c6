import { h, field } from '../dom.js';
import { gql } from '../api.js';
import { href, common, withParams, navigate } from '../state.js';
import { dur, num, time, pct } from '../format.js';
import { seriesChart, barsChart, sessionsChart } from '../charts.js';
import { notices, figures, table, section } from './ui.js';
import { finder } from './site.js';

const PAGE = 100;

const QUERY = `query Learner($id: ID!, $range: TimeRange, $policy: PolicyInput, $g: Granularity, $tz: String, $offset: Int) {
  user(by: {id: $id}) {
    id fullname username
    stats(range: $range, policy: $policy, scope: MODULE) {
      policy { name version } source restricted total events firstAccess lastAccess
      site { elapsed events }
      courses {
        courseId total courseTime activityTime otherTime events lastAccess
        course { fullname shortname }
        grade { percentage }
        modules { cmid type name elapsed events }
      }
      series(granularity: $g, timezone: $tz) { start elapsed events }
      sessionSummary { count mean max }
      sessions { start end elapsed events courses }
      explain(limit: ${PAGE}, offset: $offset) { eventId time eventname course cmid bucket gap credit carried reason counted detail }
    }
  }
}`;

async function learnerList(st) {
  const byId = h('input', { type: 'text', inputmode: 'numeric', name: 'id' });
  const open = h('form.finder', field('Open learner by id', byId), h('button', { type: 'submit' }, 'Open'));
  open.addEventListener('submit', (e) => {
    e.preventDefault();
    if (byId.value.trim()) navigate(href('learner', byId.value.trim(), st.params));
  });
  const search = finder('learner', st, async (q) => {
    const { data } = await gql(`query($q: String, $range: TimeRange, $policy: PolicyInput) {
      users(first: 50, filter: {search: $q}, orderBy: {field: TOTAL, direction: DESC}, range: $range, policy: $policy) {
        totalCount edges { node { id fullname username stats(range: $range, policy: $policy, scope: SITE) { total } } } } }`,
    { q: q || null, ...common(st.params) });
    const us = data.users.edges.map((e) => e.node);
    return h('div', h('p', `${data.users.totalCount} learner(s), most time first`),
      h('ul.list', us.map((u) => h('li', h('a', { href: href('learner', u.id, st.params) }, u.fullname), ` (${u.username}) `, dur(u.stats?.total)))));
  });
  return h('div.page', h('h1', 'Learners'), open, search);
}

export async function learnerPage(st) {
  if (!st.id) return learnerList(st);
  const p = st.params;
  const offset = Math.max(0, Number(p.offset) || 0);
  const { data, errors } = await gql(QUERY, { ...common(p), id: st.id, offset });
  const u = data.user;
  const s = u?.stats;
  if (!s) return h('div', notices(errors));
  const cname = (c) => c.course?.fullname || `course ${c.courseId}`;
  const modules = s.courses.flatMap((c) => c.modules.map((m) => ({ ...m, course: cname(c) }))).sort((a, b) => b.elapsed - a.elapsed);
  return h('div.page',
    h('h1', u.fullname, h('span.sub', ` ${u.username}`)),
    notices(errors),
    s.restricted ? h('p.hint', 'This token reads only some of this learner\'s courses: the totals sum those.') : null,
    figures([
      ['Total time', dur(s.total), 'total'],
      ['Site-level time', dur(s.site?.elapsed), 'siteTime'],
      ['Sessions', num(s.sessionSummary?.count), 'sessions'],
      ['Longest session', dur(s.sessionSummary?.max), 'maxSession'],
      ['Events', num(s.events), 'events'],
      ['Last access', time(s.lastAccess), 'lastAccess'],
    ]),
    h('p.meta', `Policy ${s.policy.name} (${s.policy.version}), answered from ${s.source.toLowerCase()}.`),
    h('div.grid2',
      section('Time over the range', seriesChart('Learner time per bucket', [['time', s.series]])),
      section('Sessions', s.sessions?.length ? sessionsChart('Sessions by day and time of day', s.sessions) : h('p', 'No session to show.'))),
    h('div.grid2',
      section('Courses',
        barsChart('Time per course', s.courses.map((c) => [cname(c), c.total])),
        table('Courses', [
          ['Course', (c) => h('a', { href: href('course', c.courseId, p) }, cname(c))],
          ['Total', (c) => dur(c.total), { num: true }], ['Course pages', (c) => dur(c.courseTime), { num: true }],
          ['Activities', (c) => dur(c.activityTime), { num: true }], ['Other', (c) => dur(c.otherTime), { num: true }],
          ['Grade', (c) => (c.grade ? pct(c.grade.percentage) : '—'), { num: true }],
        ], s.courses, { 'data-testid': 'courses' })),
      section('Activities',
        barsChart('Time per activity', modules.slice(0, 30).map((m) => [m.name || `${m.type} ${m.cmid}`, m.elapsed])),
        table('Activities', [
          ['Activity', (m) => m.name || `${m.type} ${m.cmid}`], ['Course', (m) => m.course],
          ['Time', (m) => dur(m.elapsed), { num: true }], ['Events', (m) => num(m.events), { num: true }],
        ], modules, { 'data-testid': 'modules' }))),
    s.explain ? section('Why this number: every event\'s lap',
      table(`Laps ${offset + 1}–${offset + s.explain.length}`, [
        ['Time', (l) => time(l.time)], ['Event', (l) => l.eventname], ['Course', (l) => l.course],
        ['Activity', (l) => l.cmid ?? ''], ['Bucket', (l) => l.bucket.toLowerCase()],
        ['Gap', (l) => dur(l.gap), { num: true }], ['Credit', (l) => dur(l.credit), { num: true }],
        ['Carried', (l) => dur(l.carried), { num: true }], ['Reason', (l) => l.reason],
        ['Counted', (l) => (l.counted ? 'yes' : 'no')], ['Detail', (l) => l.detail || ''],
      ], s.explain, { 'data-testid': 'explain', class: 'dense' }),
      h('nav.pager', { 'aria-label': 'Laps pages' },
        offset > 0 ? h('a', { href: withParams({ offset: String(Math.max(0, offset - PAGE)) }) }, '← previous') : null,
        s.explain.length === PAGE ? h('a', { href: withParams({ offset: String(offset + PAGE) }) }, 'next →') : null)) : null,
  );
}
