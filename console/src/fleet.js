// fleet — every sensor as a tile, trouble first.
//
// Built for 1,000 sensors: a tile is created once and afterwards only the
// tiles marked dirty since the last frame are touched (a tile's size is
// fixed, so new text re-lays out that tile alone). The "trouble first"
// order is the CSS `order` of each tile (FAILURE not acked, STALE not
// acked, acked ones, OK), so a state change moves no DOM node; but a new
// order re-places every tile of the grid, so orders are applied at most
// every ORDER_MS, while colours and texts change in the next frame. Within
// a rank tiles keep name order: new sensors are put in place once, in the
// frame that first shows them. "since" texts are refreshed every second,
// written only where the text changed (minutes and hours change rarely).

import { ackStatus } from './ack.js';
import { $, el, setText } from './dom.js';
import { ago, pct } from './fmt.js';
import { schedule } from './frame.js';

const ORDER_MS = 500;

function rank(s) {
  if (s.state === 'FAILURE') return s.acked ? 2 : 0;
  if (s.state === 'STALE') return s.acked ? 3 : 1;
  return 4;
}

export class Fleet {
  constructor(store) {
    this.store = store;
    this.grid = $('fleet-grid');
    this.tiles = new Map(); // name -> {root, st, since, rate, ack}
    this.dirty = new Set();
    this.added = false;
    this.orders = new Map(); // tile -> order waiting to be applied
    this.orderAt = 0; // when orders may next be applied (performance.now)
    this.orderTimer = null;
    this.filter = '';
    store.on('sensor', (n) => this.mark(n));
    store.on('reset', () => {
      this.tiles.clear();
      this.dirty.clear();
      this.orders.clear();
      this.grid.replaceChildren();
      this.render();
    });
    $('fleet-filter').addEventListener('input', (e) => {
      this.filter = e.target.value.trim().toLowerCase();
      for (const [name, t] of this.tiles) t.root.hidden = !this.matches(name);
    });
    setInterval(() => this.tick(), 1000);
  }

  matches(name) {
    return !this.filter || name.toLowerCase().includes(this.filter);
  }

  mark(name) {
    this.dirty.add(name);
    schedule('fleet', () => this.render());
  }

  tile(name) {
    let t = this.tiles.get(name);
    if (t) return t;
    const root = el('a', 'tile');
    root.href = '#/sensor/' + encodeURIComponent(name);
    root.dataset.sensor = name;
    root.hidden = !this.matches(name);
    t = {
      root,
      name: root.appendChild(el('div', 'name', name)),
      st: root.appendChild(el('div', 'st')),
      since: root.appendChild(el('div', 'since')),
      rate: root.appendChild(el('div', 'rate')),
      ack: root.appendChild(el('div', 'ackline')),
    };
    this.tiles.set(name, t);
    this.added = true;
    return t;
  }

  render() {
    for (const name of this.dirty) {
      const s = this.store.sensors.get(name);
      if (!s || !s.state) continue;
      const t = this.tile(name);
      const a = ackStatus(s);
      const cls = `tile s-${s.state}${s.acked ? ' acked' : ''}${a.cls ? ' ' + a.cls : ''}`;
      if (t.root.className !== cls) t.root.className = cls;
      t.root.dataset.state = s.state;
      t.root.dataset.acked = s.acked ? 'true' : 'false';
      const r = String(rank(s));
      if (t.root.style.order !== r) this.orders.set(t.root, r);
      setText(t.st, s.state);
      setText(t.since, 'for ' + ago(s.since));
      setText(t.rate, 'anomaly rate ' + pct(s.rate));
      setText(t.ack, a.text);
      t.ack.title = a.text;
    }
    this.dirty.clear();
    if (this.added) {
      this.added = false;
      const names = [...this.tiles.keys()].sort();
      this.grid.replaceChildren(...names.map((n) => this.tiles.get(n).root));
      this.orderAt = 0; // the grid is laid out anew anyway
    }
    this.applyOrders();
    $('fleet-empty').hidden = this.tiles.size > 0;
  }

  applyOrders() {
    if (!this.orders.size || this.orderTimer) return;
    const wait = this.orderAt - performance.now();
    if (wait > 0) {
      this.orderTimer = setTimeout(() => {
        this.orderTimer = null;
        schedule('fleet-order', () => this.applyOrders());
      }, wait);
      return;
    }
    for (const [root, r] of this.orders) root.style.order = r;
    this.orders.clear();
    this.orderAt = performance.now() + ORDER_MS;
  }

  tick() {
    if ($('view-fleet').hidden) return;
    const now = Date.now() / 1000;
    for (const [name, t] of this.tiles) setText(t.since, 'for ' + ago(this.store.sensors.get(name).since, now));
  }
}
