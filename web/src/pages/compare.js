import { h, field, select } from '../dom.js';
import { gql } from '../api.js';
import { common, withParams, navigate, href } from '../state.js';
import { dur, num } from '../format.js';
import { seriesChart, barsChart } from '../charts.js';
import { notices, table, section } from './ui.js';

const COURSE = `query($id: ID!, $range: TimeRange, $a: PolicyInput, $b: PolicyInput, $g: Granularity, $tz: String) {
  course(by: {id: $id}) {
    id fullname
    a: stats(range: $range, policy: $a) { ...agg }
    b: stats(range: $range, policy: $b) { ...agg }
  }
}
fragment agg on CourseAggregate {
  learners activeLearners total events mean median p90
  modules { cmid type name elapsed }
  series(granularity: $g, timezone: $tz) { start elapsed }
}`;

const LEARNER = `query($id: ID!, $range: TimeRange, $a: PolicyInput, $b: PolicyInput, $g: Granularity, $tz: String) {
  user(by: {id: $id}) {
    id fullname
    a: stats(range: $range, policy: $a, scope: COURSE) { ...one }
    b: stats(range: $range, policy: $b, scope: COURSE) { ...one }
  }
}
fragment one on UserStats {
  policy { name version } total events
  sessionSummary { count mean }
  courses { courseId total course { fullname } }
  series(granularity: $g, timezone: $tz) { start elapsed }
}`;

export async function comparePage(st, policies) {
  const p = st.params;
  const names = (await gql('{ policies { name } }')).data.policies.map((x) => x.name);
  const a = p.a || names[0];
  const b = p.b || names.find((n) => n !== a) || a;
  const kind = p.kind === 'learner' ? 'learner' : 'course';
  const form = h('form.filters', { 'aria-label': 'What to compare' },
    field('Compare a', select([['course', 'course'], ['learner', 'learner']], kind, { name: 'kind' })),
    field(kind === 'course' ? 'Course id' : 'User id', h('input', { type: 'text', inputmode: 'numeric', name: 'of', value: p.of || '', required: true })),
    field('Policy A', select(names.map((n) => [n, n]), a, { name: 'a' })),
    field('Policy B', select(names.map((n) => [n, n]), b, { name: 'b' })),
    h('button', { type: 'submit' }, 'Compare'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(withParams(Object.fromEntries(new FormData(form).entries())));
  });
  const page = h('div.page', h('h1', 'Compare policies'), form);
  if (!p.of) {
    page.append(h('p', 'Give a course or user id (from the Courses and Learners pages) and two policies.'));
    return page;
  }
  const vars = { ...common(p), id: p.of, a: { name: a }, b: { name: b } };
  delete vars.policy;
  const { data, errors } = await gql(kind === 'course' ? COURSE : LEARNER, vars);
  if (errors.length) page.append(notices(errors));
  const x = kind === 'course' ? data.course : data.user;
  if (!x?.a || !x?.b) return page;
  const title = kind === 'course' ? x.fullname : x.fullname;
  const link = h('a', { href: href(kind, x.id, p) }, title);
  const rows = kind === 'course'
    ? [['Participants', 'learners', num], ['Active learners', 'activeLearners', num], ['Total time', 'total', dur], ['Mean per active', 'mean', dur], ['Median', 'median', dur], ['90th percentile', 'p90', dur], ['Events', 'events', num]]
    : [['Total time', 'total', dur], ['Events', 'events', num], ['Sessions', (s) => s.sessionSummary?.count, num], ['Mean session', (s) => s.sessionSummary?.mean, dur]];
  const get = (s, k) => (typeof k === 'function' ? k(s) : s[k]);
  page.append(
    h('h2', link),
    table(`${a} against ${b}`, [
      ['', (r) => r[0]],
      [a, (r) => r[2](get(x.a, r[1])), { num: true }],
      [b, (r) => r[2](get(x.b, r[1])), { num: true }],
      ['B − A', (r) => diff(get(x.a, r[1]), get(x.b, r[1]), r[2]), { num: true }],
    ], rows, { 'data-testid': 'compare' }),
    h('div.grid2',
      section('Over time', seriesChart('Time per bucket under both policies', [[a, x.a.series], [b, x.b.series]])),
      section(kind === 'course' ? 'Activities' : 'Courses', pairs(kind, x, a, b))));
  return page;
}

function diff(va, vb, fmt) {
  if (va === null || va === undefined || vb === null || vb === undefined) return '—';
  const d = vb - va;
  const node = fmt(Math.abs(d));
  return h('span', { 'data-diff': d }, d < 0 ? '−' : '+', node);
}

function pairs(kind, x, a, b) {
  const key = kind === 'course' ? 'cmid' : 'courseId';
  const label = kind === 'course' ? (m) => m.name || `${m.type} ${m.cmid}` : (c) => c.course?.fullname || `course ${c.courseId}`;
  const val = kind === 'course' ? (m) => m.elapsed : (c) => c.total;
  const list = kind === 'course' ? 'modules' : 'courses';
  const all = new Map();
  for (const m of x.a[list]) all.set(m[key], [label(m), val(m), 0]);
  for (const m of x.b[list]) {
    const r = all.get(m[key]) || [label(m), 0, 0];
    r[2] = val(m);
    all.set(m[key], r);
  }
  const rows = [...all.values()].sort((r, s) => Math.max(s[1], s[2]) - Math.max(r[1], r[2])).slice(0, 30);
  return barsChart(`Time per ${kind === 'course' ? 'activity' : 'course'} under both policies`, rows, [a, b]);
}
