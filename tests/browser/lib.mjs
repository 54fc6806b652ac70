// Shared by the console's browser test (console.test.mjs) and its benchmark
// (console.bench.mjs): Debian's Chromium driven by playwright-core, MQTT
// clients from MQTT.js, bounded waits, and "ok/FAIL" check lines in the
// format of tests/scripts/lib.sh. Packages come from console/node_modules
// (console/package.json), which `make console` installs with npm ci.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../console/package.json', import.meta.url));
const { chromium } = require('playwright-core');
export const mqtt = require('mqtt');

export const SKIP = 77; // exit code: Chromium cannot be started here
export const CHROMIUM = process.env.ANOMESH_CHROMIUM || '/usr/bin/chromium';

// launch: headless Chromium with a fresh profile, or exit SKIP saying why.
// Nothing is downloaded: the browser is the system's.
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'anomesh-chromium.'));
  let browser;
  try {
    // launchPersistentContext is the way to give --user-data-dir.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The test CA's broker certificate, trusted by the pin of its key
        // alone (tests/scripts/test_console.sh): no blanket
        // --ignore-certificate-errors.
        ...(process.env.ANOMESH_CHROMIUM_SPKI
          ? [`--ignore-certificate-errors-spki-list=${process.env.ANOMESH_CHROMIUM_SPKI}`]
          : []),
      ],
      viewport: { width: 1280, height: 800 },
      timeout: 60000,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    console.log(`SKIP: Chromium (${CHROMIUM}) cannot be started: ${String(e.message || e).split('\n')[0]}`);
    process.exit(SKIP);
  }
  const close = async () => {
    await browser.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { browser, close };
}

// connect: an MQTT v5 client, resolved once connected (rejected on error).
export function connect(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 10000, ...opts });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => {
      c.end(true);
      reject(e);
    });
  });
}

// retained: the retained message on topic (parsed JSON), or null when none
// comes within ms.
export async function retained(url, opts, topic, ms = 3000) {
  const c = await connect(url, opts);
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      c.on('message', (t, payload, packet) => {
        if (t !== topic || !packet.retain) return;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(payload.toString()));
        } catch {
          resolve(null);
        }
      });
      c.subscribe(topic, { qos: 1 });
    });
  } finally {
    c.end(true);
  }
}

// until: poll fn (async, truthy = done) every 100 ms for up to ms; the last
// value, or null on timeout.
export async function until(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return null;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Checks, counted: "ok   - ..." / "FAIL - ...", as tests/scripts/lib.sh.
export const checks = { n: 0, failed: 0 };
export function ok(desc) {
  checks.n++;
  console.log(`ok   - ${desc}`);
}
export function bad(desc) {
  checks.n++;
  checks.failed++;
  console.log(`FAIL - ${desc}`);
}
export function check(desc, cond) {
  if (cond) ok(desc);
  else bad(desc);
  return !!cond;
}
