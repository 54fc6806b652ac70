// alerts — the alerts as they happen, newest first, each with its Ack.
//
// Alerts are events, not retained: the list holds what arrived since the
// page connected (the Fleet shows the current state of every sensor, and a
// sensor in trouble can be acknowledged from its own view too). Only the
// newest alert of a sensor can be acknowledged — the alerter ignores an ack
// for any other id — so older rows say "superseded". Rows are added once;
// a sensor's change re-renders only the ack cells of that sensor's rows.

import { ackStatus } from './ack.js';
import { $, el, setText } from './dom.js';
import { pct, stamp } from './fmt.js';
import { schedule } from './frame.js';

const MAX_ROWS = 500;

export class AlertsView {
  constructor(store, acker) {
    this.store = store;
    this.acker = acker;
    this.body = $('alerts-body');
    this.rows = []; // newest first: {a, tr, cell}
    this.pending = []; // alerts not yet in the DOM, oldest first
    this.dirty = new Set(); // sensors whose ack cells need a look
    this.unseen = 0;
    store.on('alert', (a) => {
      this.pending.push(a);
      this.dirty.add(a.sensor);
      if ($('view-alerts').hidden) this.unseen++;
      schedule('alerts', () => this.render());
    });
    store.on('sensor', (n) => {
      this.dirty.add(n);
      schedule('alerts', () => this.render());
    });
    store.on('reset', () => {
      this.rows = [];
      this.pending = [];
      this.unseen = 0;
      this.body.replaceChildren();
      this.render();
    });
    this.body.addEventListener('click', (e) => {
      const b = e.target.closest('button.ack');
      if (b) this.acker.ack(b.dataset.sensor);
    });
  }

  shown() {
    this.unseen = 0;
    this.renderCount();
  }

  renderCount() {
    setText($('alert-count'), this.unseen ? String(this.unseen) : '');
  }

  render() {
    const fresh = [];
    for (const a of this.pending) {
      const tr = el('tr', 's-' + a.to);
      tr.dataset.alert = a.id;
      tr.dataset.sensor = a.sensor;
      const link = el('a', '', a.sensor);
      link.href = '#/sensor/' + encodeURIComponent(a.sensor);
      const sensorTd = el('td');
      sensorTd.append(link);
      const cell = el('td', 'ackcell');
      tr.append(el('td', '', stamp(a.t)), sensorTd, el('td', 'st', `${a.from} → ${a.to}`),
        el('td', '', a.severity), el('td', '', pct(a.rate)), cell);
      fresh.unshift({ a, tr, cell });
    }
    this.pending = [];
    if (fresh.length) {
      this.body.prepend(...fresh.map((r) => r.tr));
      this.rows = fresh.concat(this.rows);
      while (this.rows.length > MAX_ROWS) this.rows.pop().tr.remove();
    }
    for (const r of this.rows) if (this.dirty.has(r.a.sensor)) this.renderAck(r);
    this.dirty.clear();
    $('alerts-empty').hidden = this.rows.length > 0;
    this.renderCount();
  }

  renderAck(r) {
    const s = this.store.sensors.get(r.a.sensor);
    const current = s && s.alertId === r.a.id;
    let key;
    let build;
    if (!current) {
      key = 'old';
      build = () => [el('span', 'muted', r.a.to === 'OK' ? '' : 'superseded')];
    } else {
      const st = ackStatus(s);
      const can = this.acker.can(s) && !(s.ack && s.ack.phase === 'sending');
      key = `${can}|${st.text}`;
      build = () => {
        const out = [];
        if (can) {
          const b = el('button', 'ack', 'Ack');
          b.type = 'button';
          b.dataset.sensor = r.a.sensor;
          out.push(b);
        }
        if (st.text) out.push(el('span', 'acknote ' + st.cls, st.text));
        return out;
      };
    }
    if (r.cell.dataset.key === key) return;
    r.cell.dataset.key = key;
    r.cell.replaceChildren(...build());
  }
}
