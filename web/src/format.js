import { h } from './dom.js';

// Durations are shown as h:mm (rounded down, as the exports' total_hm); the
// exact seconds stay in data-seconds and the title.
export function hm(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
}

export function dur(seconds) {
  if (seconds === null || seconds === undefined) return h('span.dur.none', '—');
  return h('span.dur', { 'data-seconds': seconds, title: `${seconds} s` }, hm(seconds));
}

export function num(n) {
  if (n === null || n === undefined) return h('span.num.none', '—');
  return h('span.num', { 'data-value': n }, Number(n).toLocaleString('en'));
}

let zone = '';
export function setDisplayZone(tz) {
  zone = tz || '';
}

function fmt(opts) {
  try {
    return new Intl.DateTimeFormat('en-CA', { ...opts, timeZone: zone || undefined });
  } catch {
    return new Intl.DateTimeFormat('en-CA', opts);
  }
}

export function dateTimeText(unix) {
  return fmt({ year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(unix * 1000));
}

export function dateText(unix) {
  return fmt({ year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(unix * 1000));
}

export function time(unix) {
  if (unix === null || unix === undefined) return h('span.time.none', 'never');
  return h('time', { datetime: new Date(unix * 1000).toISOString(), 'data-unix': unix }, dateTimeText(unix));
}

export function pct(p) {
  if (p === null || p === undefined) return h('span.num.none', '—');
  return h('span.num', { 'data-value': p }, `${Number(p).toFixed(1)} %`);
}

// Seconds since midnight in the display zone.
export function secondsOfDay(unix) {
  const parts = fmt({ hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).formatToParts(new Date(unix * 1000));
  const get = (t) => Number(parts.find((p) => p.type === t)?.value || 0) % 24;
  return get('hour') * 3600 + (Number(parts.find((p) => p.type === 'minute')?.value) || 0) * 60 + (Number(parts.find((p) => p.type === 'second')?.value) || 0);
}
