// ack — acknowledging a sensor's current alert, and what became of it.
//
// The contract's ack goes to {root}/{sensor}/ack at QoS 1, so the broker's
// PUBACK says whether this account may publish it: a read-only account is
// answered 0x87 "not authorised" and the page says so instead of pretending.
// An accepted ack is done only when the alerter's retained state comes back
// with "acked":true (store.onState clears the attempt); if that does not
// happen in CONFIRM_S the page says the alerter did not confirm.

import { topicFor } from './store.js';

const CONFIRM_S = 10;

export class Acker {
  constructor(store, conn, onChange) {
    this.store = store;
    this.conn = conn;
    this.onChange = onChange; // (sensor) => void, after any change of s.ack
  }

  // can: whether the sensor has an alert this page may try to acknowledge.
  can(s) {
    return !!(s && s.alertId && !s.acked && (s.state === 'FAILURE' || s.state === 'STALE'));
  }

  // ack: publish {"v":1,"id","by","t"} for the sensor's current alert.
  ack(name) {
    const s = this.store.sensors.get(name);
    if (!this.can(s) || (s.ack && s.ack.phase === 'sending')) return;
    const id = s.alertId;
    const by = this.conn.user || 'console';
    const attempt = { id, phase: 'sending', note: 'sending ack…' };
    s.ack = attempt;
    this.onChange(name);
    const body = JSON.stringify({ v: 1, id, by, t: Date.now() / 1000 });
    this.conn.publish(topicFor(this.conn.root, name, 'ack'), body, (err) => {
      if (s.ack !== attempt) return; // the state moved on meanwhile
      if (!err) {
        attempt.phase = 'sent';
        attempt.note = 'ack sent, waiting for the alerter…';
        setTimeout(() => {
          if (s.ack !== attempt) return;
          attempt.phase = 'unconfirmed';
          attempt.note = `ack sent; the alerter has not confirmed it within ${CONFIRM_S} s (is it running?)`;
          this.onChange(name);
        }, CONFIRM_S * 1000);
      } else if (err.code === 135) {
        attempt.phase = 'refused';
        attempt.note = `not allowed to acknowledge: the broker refused the ack of account "${
          this.conn.user || 'anonymous'
        }" (read-only)`;
      } else {
        attempt.phase = 'failed';
        attempt.note = 'ack failed: ' + (err.message || err);
      }
      this.onChange(name);
    });
  }
}

// ackStatus: {text, cls} describing a sensor's ack for tiles and lists.
export function ackStatus(s) {
  if (!s || !s.state || s.state === 'OK') return { text: '', cls: '' };
  if (s.acked) return { text: `acked by ${s.ackedBy || '?'}`, cls: 'acked' };
  if (s.ack) return { text: s.ack.note, cls: 'ack-' + s.ack.phase };
  return { text: 'not acked', cls: 'unacked' };
}
