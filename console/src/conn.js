// conn — the page's one MQTT v5 session over WebSockets.
//
// The page is served by the broker's websockets listener, so by default it
// connects back to the host and port it came from (ws:, or wss: when the
// page came over https). It subscribes to what any read-only client of the
// contract may read — states, alerts, service status and metrics — and to a
// sensor's predictions only while that sensor is looked at (a few recent
// ones stay subscribed), so a fleet of 1,000 costs the browser no prediction
// stream. A refused connection (bad password, no anonymous access) stops
// the retries and hands the reason to the sign-in form.

import mqtt from 'mqtt';
import { topicFor } from './store.js';

const KEEP_PRED_SUBS = 8; // sensors whose predictions stay subscribed

export const CONNACK_REASON = {
  128: 'the broker refused the connection',
  133: 'client id not valid',
  134: 'bad user name or password',
  135: 'not authorised',
  136: 'server unavailable',
  138: 'banned',
  140: 'bad authentication method',
  4: 'bad user name or password',
  5: 'not authorised',
};

export function defaultUrl() {
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return '';
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
}

export class Conn {
  // handlers: {message(topic, payload), status(state, detail)}
  constructor(handlers) {
    this.h = handlers;
    this.client = null;
    this.root = 'factory';
    this.user = '';
    this.predSubs = []; // sensor names, most recent last
  }

  // open: connect with these credentials; closes a previous session first.
  open({ url, user, password, root }) {
    this.close();
    this.root = root || 'factory';
    this.user = user || '';
    const opts = {
      protocolVersion: 5,
      clean: true,
      clientId: 'console-' + Math.random().toString(16).slice(2, 10),
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10000,
      resubscribe: false, // the connect handler subscribes everything again
    };
    if (user) opts.username = user;
    if (password) opts.password = password;
    this.h.status('connecting', url);
    let client;
    try {
      client = mqtt.connect(url, opts);
    } catch (e) {
      this.h.status('refused', String(e.message || e));
      return;
    }
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      const r = this.root;
      const topics = [`${r}/+/state`, `${r}/+/alert`, `${r}/_svc/+/+/status`, `${r}/_svc/+/+/metrics`];
      for (const s of this.predSubs) topics.push(`${r}/${s}/prediction`);
      client.subscribe(topics, { qos: 0 }, (err) => {
        if (err && this.client === client) this.h.status('error', 'subscribe failed: ' + err.message);
      });
      this.h.status('connected', this.user || 'anonymous');
    });
    client.on('message', (topic, payload) => {
      if (this.client === client) this.h.message(topic, payload);
    });
    client.on('reconnect', () => this.client === client && this.h.status('connecting', url));
    client.on('offline', () => this.client === client && this.h.status('offline', url));
    client.on('error', (err) => {
      if (this.client !== client) return;
      const reason = CONNACK_REASON[err && err.code];
      if (reason) {
        // Retrying with the same credentials cannot help: ask for others.
        this.close();
        this.h.status('refused', reason);
      } else {
        this.h.status('error', String((err && err.message) || err));
      }
    });
  }

  close() {
    const c = this.client;
    this.client = null;
    if (c) c.end(true);
  }

  connected() {
    return !!(this.client && this.client.connected);
  }

  // watchPredictions: subscribe to one sensor's predictions (kept for the
  // few most recently watched sensors).
  watchPredictions(sensor) {
    const i = this.predSubs.indexOf(sensor);
    if (i >= 0) this.predSubs.splice(i, 1);
    this.predSubs.push(sensor);
    const c = this.client;
    if (i < 0 && c) c.subscribe(topicFor(this.root, sensor, 'prediction'), { qos: 0 });
    while (this.predSubs.length > KEEP_PRED_SUBS) {
      const old = this.predSubs.shift();
      if (c) c.unsubscribe(topicFor(this.root, old, 'prediction'));
    }
  }

  // publish: QoS 1; done(err) gets the broker's verdict. Under MQTT v5 a
  // publish the ACL forbids is answered with PUBACK reason 0x87 (135), which
  // MQTT.js hands back as an error whose code is the reason.
  publish(topic, payload, done) {
    if (!this.connected()) {
      done(Object.assign(new Error('not connected to the broker'), { code: -1 }));
      return;
    }
    this.client.publish(topic, payload, { qos: 1 }, (err) => done(err || null));
  }
}
