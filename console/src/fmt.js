// fmt — how times, rates and numbers read on screen, in one place.

// ago: "12 s", "5 min", "3 h", "2 d" since UNIX time t (seconds).
export function ago(t, now = Date.now() / 1000) {
  if (t === null || t === undefined) return '';
  const d = Math.max(0, now - t);
  if (d < 60) return `${Math.floor(d)} s`;
  if (d < 3600) return `${Math.floor(d / 60)} min`;
  if (d < 86400) return `${Math.floor(d / 3600)} h`;
  return `${Math.floor(d / 86400)} d`;
}

// clock: local wall time of UNIX time t, "14:03:27".
export function clock(t) {
  if (t === null || t === undefined) return '';
  const d = new Date(t * 1000);
  return d.toLocaleTimeString([], { hour12: false });
}

// stamp: local date and time, "2026-11-26 14:03:27".
export function stamp(t) {
  if (t === null || t === undefined) return '';
  const d = new Date(t * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${clock(t)}`;
}

export function pct(r) {
  return r === null || r === undefined ? '–' : `${Math.round(r * 100)} %`;
}

export function count(n) {
  return n === null || n === undefined ? '–' : String(n);
}

export function score(x) {
  if (x === null || x === undefined) return '–';
  return Math.abs(x) >= 100 || Math.abs(x) < 0.001 ? x.toExponential(2) : x.toPrecision(3);
}
