import { h } from '../dom.js';

// Partial answers: each error of the response as a notice above the page.
export function notices(errors) {
  if (!errors?.length) return null;
  return h('ul.notices', { role: 'status' }, errors.map((e) => h('li', `${(e.path || []).join('.')}: ${e.message}${e.extensions?.code ? ` (${e.extensions.code})` : ''}`)));
}

// Key figures: [[label, node, testid]].
export function figures(items) {
  return h('dl.figures', items.map(([label, node, id]) => h('div.figure', { 'data-testid': id }, h('dt', label), h('dd', node))));
}

// A table: columns [[header, cell(row) → node, opts]]; a caption names it.
export function table(caption, columns, rows, attrs = {}) {
  return h('div.tablewrap', { tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', attrs,
      h('caption', caption),
      h('thead', h('tr', columns.map(([head, , opts]) => h('th', { scope: 'col', class: opts?.num ? 'num' : null }, head)))),
      h('tbody', rows.length ? rows.map((r) => h('tr', columns.map(([, cell, opts]) => h('td', { class: opts?.num ? 'num' : null }, cell(r)))))
        : h('tr', h('td', { colspan: columns.length }, 'Nothing in this range.')))));
}

export function section(title, ...children) {
  return h('section.card', h('h2', title), ...children);
}

export const RANGE_FIELDS = 'range: $range, policy: $policy';
export const RANGE_VARS = '$range: TimeRange, $policy: PolicyInput';
