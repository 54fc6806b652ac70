// store — everything the console knows, built from MQTT messages only.
//
// The broker's messages arrive here (conn.js hands them over) and are
// validated like any untrusted input: topics split by the contract, sensor
// names checked, payloads parsed with a size cap, numbers checked finite.
// Views never read MQTT; they read this model and listen for change events
// ("sensor", "alert", "service", "pred"), which they coalesce per animation
// frame (frame.js), so a burst of 1,000 retained states costs one render.

export const SENSOR_RE = /^[A-Za-z0-9._-]{1,64}$/;
// A fleet root (the fleet view, fleet/README.md) has '+' levels, e.g.
// "fleet/+/+": the levels they match (plant, gateway) come before the
// sensor in its name, "plant1/gw1/arm1", so that the same sensor name on two
// gateways is two sensors, and names sort by plant and gateway.
const GROUP_RE = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_GROUPS = 4;

// rootMatch: the levels of topic below root, and the levels root's '+'
// matched ({group, rest}), or null when topic is not under root.
export function rootMatch(root, topic) {
  const rl = root.split('/');
  const tl = topic.split('/');
  if (tl.length <= rl.length) return null;
  const group = [];
  for (let i = 0; i < rl.length; i++) {
    if (rl[i] === '+') {
      if (!GROUP_RE.test(tl[i]) || group.length === MAX_GROUPS) return null;
      group.push(tl[i]);
    } else if (rl[i] !== tl[i]) return null;
  }
  return { group, rest: tl.slice(rl.length) };
}

// validName: a sensor's name as the store keys it (a sensor id, after the
// group levels of a fleet root).
export function validName(name) {
  const p = name.split('/');
  return p.length <= MAX_GROUPS + 1 && SENSOR_RE.test(p[p.length - 1]) && p.slice(0, -1).every((g) => GROUP_RE.test(g));
}

// topicFor: the topic of sensor name's kind ("prediction", "ack") under
// root, its group levels put back in place of root's '+'.
export function topicFor(root, name, kind) {
  const p = name.split('/');
  let g = 0;
  const levels = root.split('/').map((l) => (l === '+' ? p[g++] : l));
  return `${levels.join('/')}/${p.slice(g).join('/')}/${kind}`;
}
const MAX_PAYLOAD = 64 * 1024; // the contract's messages are < 1 KiB
const MAX_ALERTS = 500; // alerts kept for the Alerts view
const MAX_HISTORY = 100; // state changes kept per sensor
export const PRED_KEEP_S = 900; // predictions kept per sensor (the chart's longest span)
const STATES = new Set(['OK', 'FAILURE', 'STALE']);

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v, max = 128) => (typeof v === 'string' && v.length <= max ? v : null);

// parse: the JSON object in a payload (Uint8Array or string), or null.
function parse(payload) {
  if (!payload || payload.length > MAX_PAYLOAD) return null;
  try {
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload);
    const o = JSON.parse(text);
    return o && typeof o === 'object' && !Array.isArray(o) ? o : null;
  } catch {
    return null;
  }
}

export class Store {
  constructor() {
    this.sensors = new Map(); // name -> sensor record (newSensor)
    this.alerts = []; // newest first
    this.services = new Map(); // "service/instance" -> record
    this.dropped = 0; // messages refused as malformed
    this.listeners = new Map();
  }

  // reset: forget everything (another account or root sees other topics).
  reset() {
    this.sensors.clear();
    this.alerts = [];
    this.services.clear();
    this.dropped = 0;
    this.emit('reset');
  }

  on(ev, fn) {
    if (!this.listeners.has(ev)) this.listeners.set(ev, []);
    this.listeners.get(ev).push(fn);
  }

  emit(ev, arg) {
    for (const fn of this.listeners.get(ev) || []) fn(arg);
  }

  sensor(name) {
    let s = this.sensors.get(name);
    if (!s) {
      s = {
        name,
        state: null, // null until a state message arrives
        since: null,
        t: null,
        rate: null,
        windowS: null,
        acked: false,
        ackedBy: null,
        alertId: null,
        history: [], // newest first: {t, state, rate, ackedBy}
        preds: { t: [], tStart: [], score: [], thr: [], anom: [] },
        lastPred: null,
        top: null,
        ack: null, // this page's own ack attempt: {phase, note, id}
      };
      this.sensors.set(name, s);
    }
    return s;
  }

  // handle: route one message by its topic. root is the topic root.
  handle(root, topic, payload) {
    const m = rootMatch(root, topic);
    if (!m) return;
    const parts = m.rest;
    if (parts[0] === '_svc') {
      if (parts.length === 4 && (parts[3] === 'status' || parts[3] === 'metrics'))
        this.onService(parts[1], parts[2], parts[3], payload);
      return;
    }
    if (parts.length !== 2 || !SENSOR_RE.test(parts[0])) return;
    const name = [...m.group, parts[0]].join('/');
    const o = payload && payload.length ? parse(payload) : null;
    if (!o) {
      // An empty retained message clears a topic: nothing to show for it.
      if (payload && payload.length) this.dropped++;
      return;
    }
    if (parts[1] === 'state') this.onState(name, o);
    else if (parts[1] === 'alert') this.onAlert(name, o);
    else if (parts[1] === 'prediction') this.onPrediction(name, o);
  }

  onState(name, o) {
    const state = str(o.state);
    const since = num(o.since);
    if (!STATES.has(state) || since === null) {
      this.dropped++;
      return;
    }
    const s = this.sensor(name);
    const changed = s.state !== state || s.since !== since;
    s.state = state;
    s.since = since;
    s.t = num(o.t);
    s.rate = num(o.anomaly_rate);
    s.windowS = num(o.window_s);
    s.acked = o.acked === true;
    s.ackedBy = s.acked ? str(o.acked_by) : null;
    s.alertId = str(o.alert_id, 256);
    if (changed) {
      s.history.unshift({ t: since, state, rate: s.rate, ackedBy: null });
      if (s.history.length > MAX_HISTORY) s.history.length = MAX_HISTORY;
    }
    if (s.history.length && s.history[0].t === since) s.history[0].ackedBy = s.ackedBy;
    // A state that answers our ack, or a new alert, ends the attempt.
    if (s.ack && (s.acked || s.alertId !== s.ack.id)) s.ack = null;
    this.emit('sensor', name);
  }

  onAlert(name, o) {
    const id = str(o.id, 256);
    const t = num(o.t);
    const to = str(o.to);
    if (!id || t === null || !STATES.has(to)) {
      this.dropped++;
      return;
    }
    const a = {
      id,
      sensor: name,
      t,
      from: STATES.has(o.from) ? o.from : '?',
      to,
      severity: str(o.severity) || '',
      rate: num(o.anomaly_rate),
    };
    this.alerts.unshift(a);
    if (this.alerts.length > MAX_ALERTS) this.alerts.length = MAX_ALERTS;
    this.sensor(name);
    this.emit('alert', a);
  }

  onPrediction(name, o) {
    const t = num(o.t);
    const score = num(o.score);
    const thr = num(o.threshold);
    if (t === null || score === null || thr === null) {
      this.dropped++;
      return;
    }
    const s = this.sensor(name);
    const p = s.preds;
    const n = p.t.length;
    if (n && t < p.t[n - 1]) return; // out of order (a redelivery): the chart is a time line
    p.t.push(t);
    p.tStart.push(num(o.t_start) ?? t);
    p.score.push(score);
    p.thr.push(thr);
    p.anom.push(o.anomaly === true);
    // Trim in chunks: shifting 5 arrays per message would cost O(n) each time.
    if (p.t[0] < t - PRED_KEEP_S - 60) {
      let k = 0;
      while (k < p.t.length && p.t[k] < t - PRED_KEEP_S) k++;
      for (const key of Object.keys(p)) p[key].splice(0, k);
    }
    s.lastPred = { t, score, thr, anom: o.anomaly === true, model: str(o.model) };
    const top = parseTop(o.top);
    if (top) s.top = { t, list: top };
    this.emit('pred', name);
  }

  onService(service, instance, kind, payload) {
    if (!SENSOR_RE.test(service) || !SENSOR_RE.test(instance)) return;
    const key = service + '/' + instance;
    if (!payload || !payload.length) {
      // A cleared retained status: the instance is gone for good.
      if (kind === 'status' && this.services.delete(key)) this.emit('service', key);
      return;
    }
    const o = parse(payload);
    if (!o) {
      this.dropped++;
      return;
    }
    let r = this.services.get(key);
    if (!r) {
      r = { key, service, instance, state: null, t: null, pid: null, metrics: null, metricsAt: null };
      this.services.set(key, r);
    }
    if (kind === 'status') {
      r.state = str(o.state);
      r.t = num(o.t);
      r.pid = num(o.pid);
    } else {
      const m = {};
      for (const [k, v] of Object.entries(o)) if (num(v) !== null) m[k] = v;
      r.metrics = m;
      r.metricsAt = Date.now() / 1000;
    }
    this.emit('service', key);
  }

  // counts: sensors per displayed state, for the summary line.
  counts() {
    const c = { OK: 0, FAILURE: 0, STALE: 0, acked: 0 };
    for (const s of this.sensors.values()) {
      if (!s.state) continue;
      c[s.state]++;
      if (s.acked && s.state !== 'OK') c.acked++;
    }
    return c;
  }

  // alerterDown: true when alerter instances are known and none is online.
  alerterDown() {
    let seen = false;
    for (const r of this.services.values()) {
      if (r.service !== 'alerter') continue;
      if (r.state === 'online') return false;
      seen = true;
    }
    return seen;
  }
}

// parseTop: the optional "top" field of a prediction, [["linacc_x",0.71],...],
// as [{name, value}] (at most 16), or null when absent or malformed.
function parseTop(v) {
  if (!Array.isArray(v) || !v.length) return null;
  const out = [];
  for (const e of v.slice(0, 16)) {
    if (!Array.isArray(e) || e.length < 2) return null;
    const name = str(e[0], 64);
    const value = num(e[1]);
    if (!name || value === null) return null;
    out.push({ name, value });
  }
  return out;
}
