// The console with 1,000 simulated sensors, measured in headless Chromium.
// Run by scripts/bench-console.sh, which starts a loopback broker serving
// the built page (BENCH_MQTT, BENCH_WS: its ports). This script is the load
// generator too: it publishes a retained state for every sensor (as the
// alerter would: mostly OK, some FAILURE, a few STALE, some acked), then
//   1. time to the first painted frame holding every tile, from navigation
//      start, over fresh page loads (plus DOMContentLoaded and first
//      contentful paint for scale);
//   2. the frame rate (requestAnimationFrame callbacks per second), the
//      longest frame and the long tasks (> 50 ms) on the Fleet view while
//      state changes stream at several rates;
//   3. the same on one sensor's view while its predictions stream (5 per
//      second, as the scorer does) beside the state changes.
// Figures only: nothing here passes or fails on a time.
import { bad, connect, launch, until } from './lib.mjs';

const env = process.env;
const N = Number(env.BENCH_SENSORS || 1000);
const LOADS = Number(env.BENCH_LOADS || 3);
const WINDOW_MS = Number(env.BENCH_WINDOW_S || 10) * 1000;
const RATES = (env.BENCH_RATES || '0 20 100 500').split(/\s+/).filter(Boolean).map(Number);
const ROOT = 'factory';
const web = `http://127.0.0.1:${env.BENCH_WS}/`;
const names = Array.from({ length: N }, (_, i) => `arm-${String(i).padStart(4, '0')}`);

const pub = await connect(`mqtt://127.0.0.1:${env.BENCH_MQTT}`);
const now = () => Date.now() / 1000;
let seq = 0;
// state: publish a retained state; since = when it changed (ago seconds).
function state(name, st, acked, ago = 0) {
  const t = now();
  const m = { v: 1, sensor: name, state: st, since: t - ago, t, anomaly_rate: st === 'OK' ? 0.05 : 0.7,
    window_s: 10, alert_id: `${name}-${Math.floor(t)}-${++seq}` };
  if (acked) Object.assign(m, { acked: true, acked_by: 'bench' });
  pub.publish(`${ROOT}/${name}/state`, JSON.stringify(m), { qos: 0, retain: true });
}
function randomState() {
  const r = Math.random();
  return r < 0.06 ? 'FAILURE' : r < 0.09 ? 'STALE' : 'OK';
}
// The fleet as found: states that changed at any time in the last day.
for (const n of names) state(n, randomState(), Math.random() < 0.3, 86400 * Math.random());

// stream: `rate` state changes per second on random sensors, until stopped.
function stream(rate, extra) {
  if (!rate && !extra) return () => {};
  const tickMs = 50;
  let owed = 0;
  const timer = setInterval(() => {
    owed += (rate * tickMs) / 1000;
    for (; owed >= 1; owed--) state(names[Math.floor(Math.random() * N)], randomState(), Math.random() < 0.3);
    if (extra) extra();
  }, tickMs);
  return () => clearInterval(timer);
}

const { browser, close } = await launch();
const version = browser.browser() ? browser.browser().version() : '?';
const page = browser.pages()[0] || (await browser.newPage());
page.setDefaultTimeout(120000);
// In the page before its own code: note when a painted frame first holds
// every tile, and count long tasks.
await page.addInitScript((n) => {
  window.__bench = { full: null, longtasks: 0 };
  new PerformanceObserver((l) => (window.__bench.longtasks += l.getEntries().length)).observe({ type: 'longtask' });
  const look = () => {
    const g = document.getElementById('fleet-grid');
    // Tiles in this frame: the frame after this one was painted with them.
    if (g && g.childElementCount >= n) requestAnimationFrame(() => (window.__bench.full = performance.now()));
    else requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
}, N);

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fmt = (x, d = 0) => (x === null || x === undefined ? '?' : x.toFixed(d));

// ---- 1. first paint -----------------------------------------------------------
const loads = [];
for (let i = 0; i < LOADS; i++) {
  await page.goto(i ? web + '?run=' + i : web);
  const full = await until(() => page.evaluate(() => window.__bench.full), 120000);
  const nav = await page.evaluate(() => {
    const e = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { dcl: e ? e.domContentLoadedEventEnd : null, fcp: fcp ? fcp.startTime : null };
  });
  if (!full) bad(`load ${i + 1}: the fleet never showed ${N} tiles`);
  loads.push({ full, ...nav });
}
const fulls = loads.map((l) => l.full).filter((x) => x);
console.log(`console, ${N} sensors: Chromium ${version} headless 1280x800, Node ${process.version}`);
console.log(
  `first paint of the whole fleet (${N} tiles, from navigation start): median ${fmt(median(fulls))} ms` +
    ` over ${fulls.length} loads (${fulls.map((x) => fmt(x)).join(', ')}); ` +
    `DOMContentLoaded ${fmt(median(loads.map((l) => l.dcl)))} ms, first contentful paint ${fmt(median(loads.map((l) => l.fcp)))} ms`,
);

// ---- 2, 3. frame rate while updates stream -------------------------------------------
async function frames(ms) {
  return page.evaluate(
    (dur) =>
      new Promise((done) => {
        const lt0 = window.__bench.longtasks;
        let n = 0;
        let max = 0;
        let t0 = null;
        let last = null;
        const f = (ts) => {
          if (t0 === null) t0 = ts;
          else {
            n++;
            max = Math.max(max, ts - last);
          }
          last = ts;
          if (ts - t0 < dur) requestAnimationFrame(f);
          else done({ fps: (n * 1000) / (ts - t0), max, longtasks: window.__bench.longtasks - lt0 });
        };
        requestAnimationFrame(f);
      }),
    ms,
  );
}

// Where the renderer's main thread spent its time (Chrome's own counters).
const cdp = await browser.newCDPSession(page);
await cdp.send('Performance.enable');
async function busy() {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  return { task: m.TaskDuration, script: m.ScriptDuration, style: m.RecalcStyleDuration, layout: m.LayoutDuration };
}

async function measure(label, rate, extra) {
  const stop = stream(rate, extra);
  await new Promise((r) => setTimeout(r, 1000)); // let the stream settle in
  const b0 = await busy();
  const t0 = performance.now();
  const f = await frames(WINDOW_MS);
  const b1 = await busy();
  const wall = (performance.now() - t0) / 1000;
  stop();
  const share = (k) => fmt((100 * (b1[k] - b0[k])) / wall);
  console.log(
    `  ${label.padEnd(36)} ${fmt(f.fps, 1).padStart(5)} fps, longest frame ${fmt(f.max).padStart(4)} ms, ` +
      `long tasks ${String(f.longtasks).padStart(3)}; main thread busy ${share('task')}% ` +
      `(script ${share('script')}, style ${share('style')}, layout ${share('layout')})`,
  );
}

console.log(`frame rate on the Fleet view (${WINDOW_MS / 1000} s each; state changes on random sensors):`);
for (const r of RATES) await measure(`${r} state changes/s`, r);

const shown = names[0];
await page.goto(web + '#/sensor/' + shown);
await page.waitForSelector('#sv-chart canvas');
// Fill the chart's 5 minutes first, as if it had been open that long: a
// probe older than all of them until the page shows it (its subscription
// is then active), then 1,500 windows in time order.
const t1 = now();
const predict = (t, score) =>
  pub.publish(`${ROOT}/${shown}/prediction`, JSON.stringify({ v: 1, sensor: shown, t, t_start: t - 4, n: 200,
    score, threshold: 0.0158, anomaly: score > 0.0158, model: 'bench@1', latency_ms: 0.3 }));
let lastPred = 0;
const predictions = () => {
  const t = now();
  if (t - lastPred < 0.2) return;
  lastPred = t;
  predict(t, 0.0158 * (Math.random() < 0.3 ? 3 : 0.5));
};
const seen = () => page.evaluate(() => /last window/.test(document.getElementById('sv-last').textContent));
await until(async () => (predict(t1 - 301, 0.01), seen()), 30000);
for (let i = 1500; i > 0; i--) predict(t1 - i * 0.2, 0.0158 * (i % 300 < 60 ? 3 : 0.5));
console.log(`frame rate on a sensor's view (chart of 5 min = 1,500 windows, 5 predictions/s):`);
await measure('predictions only', 0, predictions);
await measure(`predictions + 100 state changes/s`, 100, predictions);

await close();
pub.end(true);
process.exit(0);
