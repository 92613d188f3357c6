// The dashboard's default range: the last n days up to today, as calendar
// days of the browser's zone (UTC in these tests).
function day(d) {
  return d.toISOString().slice(0, 10);
}

export function lastDays(n) {
  const to = new Date();
  const from = new Date(to.getTime() - (n - 1) * 86400_000);
  return { from: day(from), to: day(to) };
}
