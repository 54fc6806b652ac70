// sensor — one sensor: live score against threshold, its state history.
//
// The chart is uPlot (canvas, made for streaming time series: a redraw of a
// few thousand points costs well under a millisecond, and setData replaces
// the arrays without rebuilding the chart). The score axis is logarithmic:
// a failing machine scores tens of times its threshold and the threshold
// must stay readable beside it. Anomalous windows (t_start..t of each
// prediction with "anomaly":true, merged where they overlap) are shaded at
// the foot of the plot; FAILURE periods from the state history behind it.
// The chart slides with the clock once a second and redraws at most once
// per frame when predictions arrive.

import uPlot from 'uplot';
import { ackStatus } from './ack.js';
import { $, el, setText } from './dom.js';
import { ago, pct, score, stamp, clock } from './fmt.js';
import { schedule } from './frame.js';

const FLOOR = 1e-6; // log axis: scores are errors, > 0; clamp a 0

export class SensorView {
  constructor(store, acker) {
    this.store = store;
    this.acker = acker;
    this.name = null;
    this.plot = null;
    this.span = 300;
    store.on('sensor', (n) => n === this.name && this.mark());
    store.on('pred', (n) => n === this.name && this.markChart());
    store.on('reset', () => {
      if (this.plot) this.plot.destroy();
      this.plot = null;
      if (this.name) this.show(this.name);
    });
    $('sv-ack').addEventListener('click', () => this.name && this.acker.ack(this.name));
    $('sv-span').addEventListener('change', (e) => {
      this.span = Number(e.target.value) || 300;
      this.markChart();
    });
    // Once a second: the chart slides with the clock, "since" ages.
    setInterval(() => {
      if (!this.name || $('view-sensor').hidden) return;
      this.mark();
      this.markChart();
    }, 1000);
    new ResizeObserver(() => this.resize()).observe($('sv-chart'));
  }

  show(name) {
    if (this.name !== name) {
      this.name = name;
      if (this.plot) {
        this.plot.destroy();
        this.plot = null;
      }
    }
    this.mark();
    this.markChart();
  }

  mark() {
    schedule('sensor-head', () => this.renderHead());
  }

  markChart() {
    schedule('sensor-chart', () => this.renderChart());
  }

  renderHead() {
    const s = this.store.sensors.get(this.name);
    setText($('sv-name'), this.name);
    const badge = $('sv-state');
    const state = s && s.state ? s.state : 'no state yet';
    setText(badge, state);
    badge.className = 'badge' + (s && s.state ? ' s-' + s.state : '');
    badge.dataset.state = s && s.state ? s.state : '';
    setText(
      $('sv-meta'),
      s && s.state
        ? `since ${stamp(s.since)} (${ago(s.since)}), anomaly rate ${pct(s.rate)} over ${s.windowS ?? '?'} s`
        : '',
    );
    const btn = $('sv-ack');
    btn.hidden = !this.acker.can(s);
    btn.disabled = !!(s && s.ack && s.ack.phase === 'sending');
    const a = ackStatus(s);
    const note = $('sv-acknote');
    setText(note, a.text);
    note.className = 'acknote ' + a.cls;
    const body = $('sv-history');
    const rows = (s ? s.history : []).map((h) => {
      const tr = el('tr', 's-' + h.state);
      tr.append(el('td', '', stamp(h.t)), el('td', 'st', h.state), el('td', '', pct(h.rate)),
        el('td', '', h.ackedBy ? 'acked by ' + h.ackedBy : ''));
      return tr;
    });
    body.replaceChildren(...rows);
    this.renderTop(s);
  }

  renderTop(s) {
    const box = $('sv-top');
    box.hidden = !(s && s.top);
    if (!s || !s.top || box.dataset.t === `${this.name}@${s.top.t}`) return;
    box.dataset.t = `${this.name}@${s.top.t}`;
    const max = Math.max(...s.top.list.map((e) => Math.abs(e.value)), 1e-12);
    const items = s.top.list.map((e) => {
      const row = el('div', 'top-row');
      const bar = el('span', 'bar');
      bar.style.width = `${Math.round((100 * Math.abs(e.value)) / max)}%`;
      row.append(el('span', 'ch', e.name), el('span', 'barbox'), el('span', 'v', score(e.value)));
      row.children[1].append(bar);
      return row;
    });
    box.replaceChildren(el('div', 'top-title', `Channels contributing most (at ${clock(s.top.t)})`), ...items);
  }

  // failureBands: [from, to] periods of FAILURE within the history.
  failureBands(s, now) {
    const out = [];
    let end = now;
    for (const h of s.history) {
      if (h.state === 'FAILURE') out.push([h.t, end]);
      end = h.t;
    }
    return out;
  }

  renderChart() {
    if ($('view-sensor').hidden || !this.name) return;
    const s = this.store.sensors.get(this.name);
    const p = s ? s.preds : { t: [], score: [], thr: [] };
    const now = Math.max(Date.now() / 1000, p.t.length ? p.t[p.t.length - 1] : 0);
    const data = [p.t, p.score.map((v) => Math.max(v, FLOOR)), p.thr.map((v) => Math.max(v, FLOOR))];
    if (!this.plot) this.plot = this.makePlot(data);
    else this.plot.setData(data, false);
    // The span chosen, or less while fewer predictions exist (a sensor
    // just opened): never a thin sliver at the right edge, never under 30 s.
    const first = p.t.length ? p.t[0] : now;
    this.plot.setScale('x', { min: Math.min(now - 30, Math.max(now - this.span, first - 2)), max: now });
    this.renderTop(s);
    const last = s && s.lastPred;
    setText(
      $('sv-last'),
      last
        ? `last window ${clock(last.t)}: score ${score(last.score)}, threshold ${score(last.thr)}${
            last.model ? ', model ' + last.model : ''
          }`
        : 'no predictions since this sensor was opened',
    );
  }

  makePlot(data) {
    const box = $('sv-chart');
    const view = this;
    const shade = (u) => {
      const s = view.store.sensors.get(view.name);
      if (!s) return;
      const { ctx } = u;
      const top = u.bbox.top;
      const h = u.bbox.height;
      const x = (t) => u.valToPos(t, 'x', true);
      const xmin = u.scales.x.min;
      ctx.save();
      ctx.fillStyle = 'rgba(229, 57, 53, 0.12)';
      for (const [a, b] of view.failureBands(s, u.scales.x.max)) {
        if (b < xmin) continue;
        const x0 = Math.max(x(a), u.bbox.left);
        ctx.fillRect(x0, top, x(b) - x0, h);
      }
      // Anomalous windows: merged intervals, a band along the bottom.
      const p = s.preds;
      ctx.fillStyle = 'rgba(255, 112, 67, 0.85)';
      const band = Math.max(6, Math.round(h * 0.05));
      let a = null;
      let b = null;
      const flush = () => {
        if (a === null || b < xmin) return;
        const x0 = Math.max(x(a), u.bbox.left);
        ctx.fillRect(x0, top + h - band, Math.max(1, x(b) - x0), band);
      };
      for (let i = 0; i < p.t.length; i++) {
        if (!p.anom[i]) continue;
        if (a !== null && p.tStart[i] <= b) b = Math.max(b, p.t[i]);
        else {
          flush();
          a = p.tStart[i];
          b = p.t[i];
        }
      }
      flush();
      ctx.restore();
    };
    const opts = {
      width: box.clientWidth || 800,
      height: 320,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { distr: 3 } },
      axes: [
        // 24-hour wall clock: the spans shown are minutes, never days.
        { stroke: '#b0b8c4', grid: { stroke: '#2a313c' }, space: 90, values: (u, v) => v.map((t) => (t === null ? '' : clock(t))) },
        // uPlot passes null for the log axis' unlabelled minor ticks.
        { stroke: '#b0b8c4', grid: { stroke: '#2a313c' }, size: 70, values: (u, v) => v.map((x) => (x === null ? '' : score(x))) },
      ],
      series: [
        {},
        // uPlot's default points: drawn only while the line is sparse (a
        // sensor just opened has one or two windows, no line yet).
        { label: 'score', stroke: '#4fc3f7', width: 1.5 },
        { label: 'threshold', stroke: '#ffca28', width: 1.5, dash: [6, 4] },
      ],
      hooks: { drawClear: [shade] },
    };
    return new uPlot(opts, data, box);
  }

  resize() {
    const box = $('sv-chart');
    if (this.plot && box.clientWidth) this.plot.setSize({ width: box.clientWidth, height: 320 });
  }
}
