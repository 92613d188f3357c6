// ECharts, only the parts the pages use, drawn on canvas (nothing inline
// that the CSP would refuse).
import * as echarts from 'echarts/core';
import { BarChart, LineChart, HeatmapChart, ScatterChart, CustomChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, VisualMapComponent, LegendComponent, AriaComponent, DataZoomComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { h } from './dom.js';
import { hm, dateText, dateTimeText, secondsOfDay } from './format.js';

echarts.use([BarChart, LineChart, HeatmapChart, ScatterChart, CustomChart, GridComponent, TooltipComponent, VisualMapComponent, LegendComponent, AriaComponent, DataZoomComponent, CanvasRenderer]);

const live = new Set();
window.addEventListener('resize', () => live.forEach((c) => c.resize()));

// Disposes the charts of the page being left.
export function disposeAll() {
  live.forEach((c) => c.dispose());
  live.clear();
}

// A figure: a labelled box that ECharts draws into once it is in the page.
export function chart(label, option, cls = '') {
  const box = h(`div.chart${cls ? `.${cls}` : ''}`, { role: 'img', 'aria-label': label });
  const fig = h('figure', h('figcaption', label), box);
  requestAnimationFrame(() => {
    if (!box.isConnected) return;
    const c = echarts.init(box, null, { renderer: 'canvas' });
    c.setOption({ aria: { enabled: true, label: { description: label } }, animation: false, ...option });
    live.add(c);
  });
  return fig;
}

const axisHM = { axisLabel: { formatter: (v) => hm(v) } };
const tipHM = (p) => {
  const ps = [].concat(p);
  return ps.map((x) => `${x.seriesName}: ${hm(Array.isArray(x.value) ? x.value[1] : x.value)}`).join('<br>');
};

// Series points (start, elapsed) as bars over time; several series side by side.
export function seriesChart(label, named) {
  return chart(label, {
    tooltip: { trigger: 'axis', valueFormatter: (v) => hm(v) },
    legend: named.length > 1 ? { top: 0 } : undefined,
    grid: { left: 56, right: 16, top: named.length > 1 ? 36 : 16, bottom: 40 },
    xAxis: { type: 'time', axisLabel: { formatter: (v) => dateText(v / 1000), hideOverlap: true } },
    yAxis: { type: 'value', ...axisHM },
    series: named.map(([name, points]) => ({
      name,
      type: 'bar',
      data: points.map((p) => [p.start * 1000, p.elapsed]),
    })),
  });
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function heatmapChart(label, cells) {
  const max = cells.reduce((m, c) => Math.max(m, c.elapsed), 0);
  return chart(label, {
    tooltip: { formatter: (p) => `${WEEKDAYS[p.value[1]]} ${p.value[0]}:00 — ${hm(p.value[2])}` },
    grid: { left: 48, right: 16, top: 8, bottom: 72 },
    xAxis: { type: 'category', data: [...Array(24).keys()].map(String), splitArea: { show: true } },
    yAxis: { type: 'category', data: WEEKDAYS, inverse: true, splitArea: { show: true } },
    // The scale's two ends as text beside it: the labels of draggable
    // handles sat over the hours' axis.
    visualMap: { min: 0, max: max || 1, calculable: false, orient: 'horizontal', left: 'center', bottom: 4, itemHeight: 160, text: [hm(max), hm(0)] },
    series: [{ name: 'time', type: 'heatmap', data: cells.map((c) => [c.hour, c.weekday - 1, c.elapsed]) }],
  });
}

// Horizontal bars: rows [label, seconds], largest first as given.
export function barsChart(label, rows, named = null) {
  const height = Math.max(160, rows.length * 22 + 40);
  const fig = chart(label, {
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: tipHM },
    legend: named ? { top: 0 } : undefined,
    grid: { left: 8, right: 24, top: named ? 32 : 8, bottom: 24, containLabel: true },
    xAxis: { type: 'value', ...axisHM },
    yAxis: { type: 'category', inverse: true, data: rows.map((r) => r[0]), axisLabel: { width: 180, overflow: 'truncate' } },
    series: (named || ['time']).map((name, i) => ({ name, type: 'bar', data: rows.map((r) => r[1 + i]) })),
  });
  // CSSOM, not a style attribute: allowed under the CSP.
  fig.querySelector('.chart').style.height = `${Math.min(height, 900)}px`;
  return fig;
}

// Time (hours) against the final grade's percentage.
export function scatterChart(label, points) {
  return chart(label, {
    tooltip: { formatter: (p) => `${p.data[2]}: ${hm(p.data[0])}, ${p.data[1].toFixed(1)} %` },
    grid: { left: 56, right: 16, top: 16, bottom: 40 },
    xAxis: { type: 'value', name: 'time', nameLocation: 'middle', nameGap: 26, ...axisHM },
    yAxis: { type: 'value', name: 'grade %', min: 0, max: 100 },
    series: [{ type: 'scatter', data: points }],
  });
}

// Sessions as bars on a time line, one row per calendar day.
export function sessionsChart(label, sessions) {
  const days = [...new Set(sessions.map((s) => dateText(s.start)))].sort();
  const dayStart = (s) => s.start - secondsOfDay(s.start);
  const data = sessions.map((s) => {
    const base = dayStart(s);
    return [s.start - base, s.end - base, days.indexOf(dateText(s.start)), s.elapsed, s.start, s.end];
  });
  const fig = chart(label, {
    tooltip: { formatter: (p) => `${dateTimeText(p.data[4])} – ${dateTimeText(p.data[5])}: ${hm(p.data[3])}` },
    grid: { left: 8, right: 16, top: 8, bottom: 32, containLabel: true },
    xAxis: { type: 'value', min: 0, max: 86400, interval: 3 * 3600, axisLabel: { formatter: (v) => `${Math.floor(v / 3600)}:00` } },
    yAxis: { type: 'category', data: days, inverse: true },
    dataZoom: days.length > 14 ? [{ type: 'slider', yAxisIndex: 0, right: 0, width: 14, startValue: 0, endValue: 13 }] : undefined,
    series: [{
      type: 'custom',
      encode: { x: [0, 1], y: 2 },
      data,
      renderItem: (params, api) => {
        const a = api.coord([api.value(0), api.value(2)]);
        const b = api.coord([Math.min(api.value(1), 86400), api.value(2)]);
        const ht = api.size([0, 1])[1] * 0.6;
        return { type: 'rect', shape: { x: a[0], y: a[1] - ht / 2, width: Math.max(2, b[0] - a[0]), height: ht }, style: api.style() };
      },
    }],
  }, 'tall');
  return fig;
}
