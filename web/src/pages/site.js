import { h, field } from '../dom.js';
import { gql } from '../api.js';
import { href, common } from '../state.js';
import { dur, num, time } from '../format.js';
import { seriesChart, heatmapChart, barsChart } from '../charts.js';
import { notices, figures, table, section } from './ui.js';

const QUERY = `query Site($range: TimeRange, $policy: PolicyInput, $g: Granularity, $tz: String) {
  site {
    stats(range: $range, policy: $policy) {
      users activeUsers total events siteTime mean median p90 firstAccess lastAccess
      topCourses(first: 10) { courseId total events activeLearners course { id fullname shortname } }
      series(granularity: $g, timezone: $tz) { start elapsed events }
      heatmap(timezone: $tz) { weekday hour elapsed events }
    }
  }
}`;

export async function sitePage(st) {
  const { data, errors } = await gql(QUERY, common(st.params));
  const s = data.site?.stats;
  const p = st.params;
  if (!s) return h('div', notices(errors));
  const courseName = (c) => c.course?.fullname || `course ${c.courseId}`;
  return h('div.page',
    h('h1', 'Site'),
    notices(errors),
    figures([
      ['Active learners', num(s.activeUsers), 'active'],
      ['Users', num(s.users), 'users'],
      ['Total time', dur(s.total), 'total'],
      ['Site-level time', dur(s.siteTime), 'siteTime'],
      ['Mean per active', dur(s.mean), 'mean'],
      ['Median', dur(s.median), 'median'],
      ['90th percentile', dur(s.p90), 'p90'],
      ['Events', num(s.events), 'events'],
    ]),
    h('div.grid2',
      section('Time over the range', seriesChart(`Site time per ${p.g.toLowerCase()}`, [['time', s.series]])),
      section('When learners work', heatmapChart('Site time by weekday and hour', s.heatmap))),
    section('Top courses',
      barsChart('Time of the top courses', s.topCourses.map((c) => [courseName(c), c.total])),
      table('Top courses', [
        ['Course', (c) => h('a', { href: href('course', c.courseId, p) }, courseName(c))],
        ['Time', (c) => dur(c.total), { num: true }],
        ['Active learners', (c) => num(c.activeLearners), { num: true }],
        ['Events', (c) => num(c.events), { num: true }],
      ], s.topCourses, { 'data-testid': 'top-courses' })),
    h('p.meta', 'First access ', time(s.firstAccess), ' · last access ', time(s.lastAccess)),
  );
}

// The course and learner pages without an id: a search that leads to one.
export function finder(kind, st, run) {
  const input = h('input', { type: 'search', name: 'q', value: st.params.q || '' });
  const out = h('div.results', { 'aria-live': 'polite' });
  const form = h('form.finder', { role: 'search' }, field(kind === 'course' ? 'Find a course' : 'Find a learner', input), h('button', { type: 'submit' }, 'Search'));
  const go = async () => {
    out.replaceChildren(h('p', 'Searching…'));
    try {
      out.replaceChildren(await run(input.value.trim()));
    } catch (e) {
      out.replaceChildren(h('p.error', { role: 'alert' }, e.message));
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go();
  });
  go();
  return h('div', form, out);
}
