// services — which anomesh services are online, and their key counters.
//
// From the retained {root}/_svc/{service}/{instance}/status (online, or the
// last will's offline) and the periodic metrics beside it. The four counters
// every service publishes (contract: in, out, malformed dropped, overflow
// dropped) get columns; the rest are listed under each row's details.
// Offline instances sort first.

import { $, el, setText } from './dom.js';
import { ago, count } from './fmt.js';
import { schedule } from './frame.js';

const KEY = ['msgs_in', 'msgs_out', 'malformed_dropped', 'overflow_dropped'];

export class ServicesView {
  constructor(store) {
    this.store = store;
    const later = () => schedule('services', () => this.render());
    store.on('service', later);
    store.on('reset', later);
    setInterval(() => !$('view-services').hidden && this.render(), 2000);
  }

  render() {
    const recs = [...this.store.services.values()].sort(
      (a, b) => (a.state === 'online') - (b.state === 'online') || a.key.localeCompare(b.key),
    );
    const rows = recs.map((r) => {
      const st = r.state || 'unknown';
      const tr = el('tr', 'svc-' + st);
      tr.dataset.service = r.key;
      tr.dataset.state = st;
      const m = r.metrics || {};
      const details = el('td', 'details');
      if (r.metrics) {
        const d = el('details');
        d.append(el('summary', '', `${ago(r.metricsAt)} ago`));
        const extra = Object.entries(m).filter(([k]) => !KEY.includes(k) && k !== 't');
        d.append(el('div', 'kv', extra.map(([k, v]) => `${k} ${v}`).join(' · ')));
        details.append(d);
      } else {
        details.append(el('span', 'muted', 'none yet'));
      }
      tr.append(el('td', '', r.service), el('td', '', r.instance), el('td', 'st', st),
        el('td', '', r.t ? ago(r.t) : ''), ...KEY.map((k) => el('td', 'n', count(m[k]))), details);
      return tr;
    });
    // Keep an open details element open across the periodic re-render.
    const open = new Set([...document.querySelectorAll('#svc-body details[open]')].map(
      (d) => d.closest('tr').dataset.service));
    for (const tr of rows) if (open.has(tr.dataset.service)) tr.querySelector('details')?.setAttribute('open', '');
    $('svc-body').replaceChildren(...rows);
    $('svc-empty').hidden = rows.length > 0;
    const banner = $('banner');
    const down = this.store.alerterDown();
    banner.hidden = !down;
    setText(banner, down ? 'The alerter is offline: machine states are not being updated.' : '');
  }
}
