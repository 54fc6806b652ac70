// The console in a real browser, against real brokers and the real alerter.
// Started by tests/scripts/test_console.sh, which runs two Mosquittos (the
// loopback config of `make run`, and the production config with its ACL
// and accounts), each with the console's websockets listener serving the
// built page and a bin/alerter with a short --stale-s, and passes their
// ports and the passwords in the environment. This script plays the scorer
// (publishes predictions for faulty and healthy sensors), drives the page
// in headless Chromium, and checks what an operator would see:
//   - the page loads from the broker and connects back to it;
//   - the faulty sensor's tile turns FAILURE (the alerter decides), the
//     healthy one stays OK, trouble first;
//   - Ack (sensor view, then Alerts view) shows "acked by" in the page and
//     "acked":true on the retained state topic;
//   - a sensor whose predictions stop turns STALE;
//   - production accounts: anonymous is refused and the sign-in form says
//     so; the read-only headset account sees states and service status, its
//     Ack is refused by the broker and the page says "not allowed to
//     acknowledge"; the operator account's Ack goes through.
// Screenshots go to $CT_ARTIFACTS. Exit 0: all checks passed; 1: a check
// failed; 77: Chromium cannot be started here.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bad, check, checks, connect, launch, ok, retained, until } from './lib.mjs';

const env = process.env;
const WAIT = 30000; // per condition: generous (met in a few seconds on a loaded 2-core machine)
const ROOT = 'factory';
const THR = 0.0158;
const art = env.CT_ARTIFACTS || 'build/test-artifacts/console';
mkdirSync(art, { recursive: true });

// Feeder: publishes one prediction per sensor every 200 ms, as the scorer
// would: "bad" sensors score far above the threshold, "good" ones below.
class Feeder {
  constructor(client, sensors) {
    this.c = client;
    this.sensors = new Map(Object.entries(sensors));
    this.timer = setInterval(() => this.tick(), 200);
  }
  tick() {
    const t = Date.now() / 1000;
    for (const [s, kind] of this.sensors) {
      const f = kind === 'bad' ? 4 + 2 * Math.random() : 0.2 + 0.3 * Math.random();
      const p = { v: 1, sensor: s, t, t_start: t - 4, n: 200, score: THR * f, threshold: THR,
        anomaly: f > 1, model: 'test@1', latency_ms: 0.4 };
      if (kind === 'bad') p.top = [['linacc_x', 0.71], ['linacc_z', 0.18], ['linacc_y', 0.04]];
      this.c.publish(`${ROOT}/${s}/prediction`, JSON.stringify(p), { qos: 0 });
    }
  }
  stop(sensor) {
    this.sensors.delete(sensor);
  }
  end() {
    clearInterval(this.timer);
    this.c.end(true);
  }
}

const pageErrors = [];
async function openPage(browser, url) {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const resp = await page.goto(url);
  return { page, resp };
}

// waitFor: wait for a selector; true/false instead of throwing.
async function waitFor(page, sel, opts = {}) {
  try {
    await page.waitForSelector(sel, { timeout: WAIT, ...opts });
    return true;
  } catch {
    return false;
  }
}

async function textHas(page, sel, want) {
  try {
    await page.waitForFunction(
      ([s, w]) => (document.querySelector(s)?.textContent || '').includes(w),
      [sel, want],
      { timeout: WAIT },
    );
    return true;
  } catch {
    return false;
  }
}

const tile = (s, state) => `.tile[data-sensor="${s}"]${state ? `[data-state="${state}"]` : ''}`;
const shot = (page, name) => page.screenshot({ path: join(art, name + '.png') });

async function signIn(page, user, password) {
  if (await page.isVisible('#signout')) await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#si-user', user);
  await page.fill('#si-pass', password || '');
  await page.click('#si-go');
  return textHas(page, '#conn-state', `connected as ${user}`);
}

// retainedState: the sensor's retained state, polled until pred(state).
async function retainedState(url, opts, sensor, pred) {
  return until(async () => {
    const s = await retained(url, opts, `${ROOT}/${sensor}/state`);
    return s && pred(s) ? s : null;
  }, WAIT);
}

// ---- the loopback broker: anonymous, like `make run` --------------------------------
async function loopback(browser) {
  const mq = `mqtt://127.0.0.1:${env.CT_LOOP_MQTT}`;
  const web = `http://127.0.0.1:${env.CT_LOOP_WS}/`;
  console.log(`# loopback broker: page ${web}, MQTT ${mq}`);
  const { page, resp } = await openPage(browser, web);
  check(`the page loads from the broker's websockets listener (HTTP ${resp && resp.status()})`,
    resp && resp.status() === 200 && (await page.title()) === 'anomesh console');
  check('it connects back to the broker over MQTT/WebSockets (anonymous)',
    await textHas(page, '#conn-state', 'connected as anonymous'));
  check('sign in by name (no password on the loopback broker) as op-loop', await signIn(page, 'op-loop'));

  const feeder = new Feeder(await connect(mq), {
    'arm-faulty': 'bad',
    'arm-faulty2': 'bad',
    'arm-healthy': 'good',
    'arm-stops': 'good',
  });
  try {
    check("the faulty sensor's tile turns FAILURE", await waitFor(page, tile('arm-faulty', 'FAILURE')));
    check("the healthy sensor's tile shows OK", await waitFor(page, tile('arm-healthy', 'OK')));
    await waitFor(page, tile('arm-faulty2', 'FAILURE'));
    await waitFor(page, tile('arm-stops', 'OK'));
    // Tile states in screen order (the page re-sorts at most twice a second).
    const screenOrder = () =>
      [...document.querySelectorAll('#fleet-grid .tile')]
        .map((e) => ({ s: e.dataset.state, r: e.getBoundingClientRect() }))
        .sort((a, b) => a.r.top - b.r.top || a.r.left - b.r.left)
        .map((e) => e.s)
        .join(',');
    const sorted = await until(async () => (await page.evaluate(screenOrder)) === 'FAILURE,FAILURE,OK,OK', WAIT);
    check(`trouble first: tiles in screen order ${await page.evaluate(screenOrder)}`, sorted);
    check('the unacked FAILURE tile says "not acked"',
      await textHas(page, tile('arm-faulty') + ' .ackline', 'not acked'));
    await shot(page, 'fleet');

    // A sensor: chart from its predictions, then Ack.
    await page.click(tile('arm-faulty'));
    check('a tile opens the sensor view, state FAILURE',
      await waitFor(page, '#view-sensor:not([hidden]) #sv-state[data-state="FAILURE"]'));
    check('the sensor view charts its predictions (canvas, last window)',
      (await waitFor(page, '#sv-chart canvas')) && (await textHas(page, '#sv-last', 'threshold')));
    check('the prediction\'s optional "top" channels are shown',
      await textHas(page, '#sv-top', 'linacc_x'));
    check('state history lists the FAILURE', await textHas(page, '#sv-history', 'FAILURE'));
    await page.click('#sv-ack');
    check('Ack in the sensor view: the page shows "acked by op-loop"',
      await textHas(page, '#sv-acknote', 'acked by op-loop'));
    const st = await retainedState(mq, {}, 'arm-faulty', (s) => s.acked === true);
    check(`the retained state topic says acked:true, acked_by op-loop (${JSON.stringify(st)})`,
      st && st.acked === true && st.acked_by === 'op-loop');
    await shot(page, 'sensor');
    await page.click('#nav a[data-view="fleet"]');
    check('the fleet tile shows it acked',
      (await waitFor(page, tile('arm-faulty') + '[data-acked="true"]')) &&
        (await textHas(page, tile('arm-faulty') + ' .ackline', 'acked by op-loop')));

    // Alerts view: the list as it happened, and its own Ack button.
    await page.click('#nav a[data-view="alerts"]');
    check('the Alerts view lists the OK → FAILURE alert',
      await textHas(page, 'tr[data-sensor="arm-faulty2"] td.st', 'FAILURE'));
    check('... with an Ack button', await waitFor(page, 'tr[data-sensor="arm-faulty2"] button.ack'));
    await page.click('tr[data-sensor="arm-faulty2"] button.ack');
    check('Ack in the Alerts view: the row shows "acked by op-loop"',
      await textHas(page, 'tr[data-sensor="arm-faulty2"] .ackcell', 'acked by op-loop'));
    const st2 = await retainedState(mq, {}, 'arm-faulty2', (s) => s.acked === true);
    check('... and the retained state says acked:true', st2 && st2.acked_by === 'op-loop');
    await shot(page, 'alerts');

    // STALE: a sensor whose predictions stop.
    feeder.stop('arm-stops');
    await page.click('#nav a[data-view="fleet"]');
    check('a sensor whose predictions stop turns STALE', await waitFor(page, tile('arm-stops', 'STALE')));
    check('the healthy sensor is still OK', await page.isVisible(tile('arm-healthy', 'OK')));
    await shot(page, 'fleet-stale');

    await page.click('#nav a[data-view="services"]');
    check('the Services view shows the alerter online',
      await waitFor(page, 'tr[data-service^="alerter/"][data-state="online"]'));
    check("... with its metrics' counters", await waitFor(page, 'tr[data-service^="alerter/"] td.details details'));
    await shot(page, 'services');
  } finally {
    feeder.end();
    await page.close();
  }
}

// ---- the production broker: accounts and ACL ------------------------------------------
async function accounts(browser) {
  const mq = `mqtt://127.0.0.1:${env.CT_PROD_MQTT}`;
  // over TLS (https, then wss) through stunnel when the test runs it
  const web = env.CT_PROD_WEB || `http://127.0.0.1:${env.CT_PROD_WS}/`;
  const operator = { username: 'operator', password: env.CT_PW_OPERATOR };
  console.log(`# production broker (accounts, ACL): page ${web}, MQTT ${mq}`);
  const { page, resp } = await openPage(browser, web);
  check(`production: the page loads from the broker (${web})`, resp && resp.status() === 200);
  check('production: anonymous is refused and the sign-in form says so',
    (await waitFor(page, '#signin:not([hidden])')) && (await textHas(page, '#signin-msg', 'not authorised')));
  await shot(page, 'signin');
  const feeder = new Feeder(await connect(mq, { username: 'scorer', password: env.CT_PW_SCORER }), {
    'arm-prod': 'bad',
    'arm-prod-ok': 'good',
  });
  try {
    check('the read-only account headset signs in', await signIn(page, 'headset', env.CT_PW_HEADSET));
    check('headset sees the faulty sensor FAILURE', await waitFor(page, tile('arm-prod', 'FAILURE')));
    check('headset sees the healthy sensor OK', await waitFor(page, tile('arm-prod-ok', 'OK')));
    await page.click('#nav a[data-view="services"]');
    check('headset sees service status (alerter online)',
      await waitFor(page, 'tr[data-service^="alerter/"][data-state="online"]'));
    await page.goto(web + '#/sensor/arm-prod');
    await waitFor(page, '#sv-ack:not([hidden])');
    await page.click('#sv-ack');
    check('headset\'s Ack is refused and the page says "not allowed to acknowledge"',
      await textHas(page, '#sv-acknote', 'not allowed to acknowledge'));
    await shot(page, 'readonly-ack-refused');
    const st = await retained(mq, operator, `${ROOT}/arm-prod/state`);
    check(`... and the state stays unacked (${JSON.stringify(st)})`, st && st.state === 'FAILURE' && !st.acked);

    check('the operator account signs in', await signIn(page, 'operator', env.CT_PW_OPERATOR));
    await waitFor(page, '#sv-ack:not([hidden])');
    await page.click('#sv-ack');
    check("operator's Ack goes through: the page shows \"acked by operator\"",
      await textHas(page, '#sv-acknote', 'acked by operator'));
    const st2 = await retainedState(mq, operator, 'arm-prod', (s) => s.acked === true);
    check('... and the retained state says acked:true, acked_by operator', st2 && st2.acked_by === 'operator');
    await shot(page, 'operator-acked');
  } finally {
    feeder.end();
    await page.close();
  }
}

const { browser, close } = await launch();
ok('headless Chromium started');
try {
  await loopback(browser);
  await accounts(browser);
} catch (e) {
  bad(`test aborted: ${e.stack || e}`);
} finally {
  await close();
}
check(`no script errors in the page${pageErrors.length ? ': ' + pageErrors.join(' | ') : ''}`, !pageErrors.length);
console.log(`screenshots: ${art}/*.png`);
console.log(`${checks.n - checks.failed}/${checks.n} checks passed`);
process.exit(checks.failed ? 1 : 0);
