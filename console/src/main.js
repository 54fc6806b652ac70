// main — the console's start: sign-in, the connection, the views, routing.
//
// The page opens straight onto the fleet: it connects at once as the user
// remembered from last time (anonymous the first time), which the loopback
// broker of `make run` accepts. A broker that wants a password refuses, and
// the sign-in form appears with the broker's reason. The password is never
// stored; the user name, broker URL and topic root are (localStorage).
// Views are chosen by the URL hash: #/fleet, #/sensor/NAME, #/alerts,
// #/services.

import { Acker } from './ack.js';
import { AlertsView } from './alerts.js';
import { Conn, defaultUrl } from './conn.js';
import { $, setText } from './dom.js';
import { Fleet } from './fleet.js';
import { schedule } from './frame.js';
import { SensorView } from './sensor.js';
import { ServicesView } from './services.js';
import { Store, validName } from './store.js';

const store = new Store();
const conn = new Conn({
  message: (topic, payload) => store.handle(conn.root, topic, payload),
  status: onStatus,
});
const acker = new Acker(store, conn, (name) => {
  store.emit('sensor', name);
  const s = store.sensors.get(name);
  if (s && s.ack && (s.ack.phase === 'refused' || s.ack.phase === 'failed')) toast(s.ack.note, true);
});
const fleet = new Fleet(store);
const sensorView = new SensorView(store, acker);
const alertsView = new AlertsView(store, acker);
new ServicesView(store);

const saved = (k, d) => localStorage.getItem('anomesh.' + k) ?? d;
const query = new URLSearchParams(location.search);

// ---- summary line -------------------------------------------------------------
// Counts per state in the header; spans made once, texts written on change.
store.on('sensor', () => schedule('summary', renderSummary));
store.on('reset', () => schedule('summary', renderSummary));
const sums = {};
for (const k of ['FAILURE', 'STALE', 'OK', 'acked']) {
  const e = document.createElement('span');
  e.dataset.state = k;
  sums[k] = $('summary').appendChild(e);
}
function renderSummary() {
  const c = store.counts();
  for (const k of ['FAILURE', 'STALE', 'OK']) {
    setText(sums[k], `${c[k]} ${k}`);
    const cls = 'sum s-' + k + (c[k] ? '' : ' zero');
    if (sums[k].className !== cls) sums[k].className = cls;
  }
  setText(sums.acked, `${c.acked} acked`);
  sums.acked.className = 'sum muted';
}

// ---- toast --------------------------------------------------------------------
let toastTimer = null;
function toast(text, bad) {
  const t = $('toast');
  t.textContent = text;
  t.className = 'toast' + (bad ? ' bad' : '');
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 8000);
}

// ---- connection and sign-in -------------------------------------------------------
function onStatus(state, detail) {
  const e = $('conn-state');
  e.dataset.state = state;
  const text = {
    connecting: `connecting to ${detail}…`,
    connected: `connected as ${detail}`,
    offline: 'connection lost, retrying…',
    refused: `refused: ${detail}`,
    error: `error: ${detail}`,
  }[state];
  setText(e, text || state);
  $('signout').hidden = state !== 'connected';
  if (state === 'connected') $('signin').hidden = true;
  if (state === 'refused') showSignin(`The broker refused the connection: ${detail}.`);
}

function showSignin(msg) {
  $('si-user').value = saved('user', '');
  $('si-pass').value = '';
  $('si-url').value = saved('url', '') || defaultUrl();
  $('si-root').value = saved('root', 'factory');
  setText($('signin-msg'), msg || '');
  $('signin').hidden = false;
  $(saved('user', '') ? 'si-pass' : 'si-user').focus();
}

function connect(user, password, url, root) {
  localStorage.setItem('anomesh.user', user);
  localStorage.setItem('anomesh.root', root);
  if (url !== defaultUrl()) localStorage.setItem('anomesh.url', url);
  else localStorage.removeItem('anomesh.url');
  conn.open({ url, user, password, root });
}

$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const url = $('si-url').value.trim() || defaultUrl();
  const root = $('si-root').value.trim() || 'factory';
  if (!url) {
    setText($('signin-msg'), 'Which broker? Give its WebSocket URL, e.g. ws://gateway:8080/mqtt.');
    return;
  }
  // Another account or root sees other topics: start from an empty model.
  if (conn.user !== $('si-user').value.trim() || conn.root !== root) store.reset();
  $('toast').hidden = true;
  connect($('si-user').value.trim(), $('si-pass').value, url, root);
  setText($('signin-msg'), '');
});

$('signout').addEventListener('click', () => {
  conn.close();
  onStatus('idle', '');
  setText($('conn-state'), 'signed out');
  showSignin('');
});

// ---- routing --------------------------------------------------------------------
function route() {
  const h = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  let view = 'fleet';
  if (h.startsWith('sensor/') && validName(h.slice(7))) {
    view = 'sensor';
    const name = h.slice(7);
    conn.watchPredictions(name);
    sensorView.show(name);
  } else if (h === 'alerts' || h === 'services') view = h;
  for (const v of ['fleet', 'sensor', 'alerts', 'services']) $('view-' + v).hidden = v !== view;
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('active', a.dataset.view === view || (view === 'sensor' && a.dataset.view === 'fleet'));
  if (view === 'alerts') alertsView.shown();
  if (view === 'fleet') fleet.tick();
  if (view === 'sensor') sensorView.resize();
}
window.addEventListener('hashchange', route);

// ---- start --------------------------------------------------------------------------
route();
renderSummary();
const url = query.get('broker') || saved('url', '') || defaultUrl();
if (url) connect(saved('user', ''), '', url, saved('root', 'factory'));
else showSignin('Opened from a file: give the broker\'s WebSocket URL.');
