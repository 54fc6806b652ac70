// The console's fleet root (console/src/store.js; fleet/README.md, "The
// fleet view"): with root "fleet/+/+" the levels the '+' match (plant,
// gateway) prefix a sensor's name, so arm1 on two gateways is two sensors;
// predictions and acks go back to the right gateway's topics; a plain root
// works as before. Prints one "ok"/"not ok" line per check, exits 1 on any
// failure. Run by tests/scripts/test_fleet_view.sh.
import { readFileSync } from 'node:fs';

const src = readFileSync(new URL('../../console/src/store.js', import.meta.url), 'utf8');
const { Store, rootMatch, topicFor, validName } = await import('data:text/javascript,' + encodeURIComponent(src));

let failed = 0;
function check(what, cond) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
  if (!cond) failed++;
}
const state = (s, since) => JSON.stringify({ v: 1, sensor: 'arm1', state: s, since, t: since, rate: 0.1 });

const fleet = new Store();
fleet.handle('fleet/+/+', 'fleet/plant1/gw1/arm1/state', state('OK', 1));
fleet.handle('fleet/+/+', 'fleet/plant1/gw2/arm1/state', state('FAILURE', 2));
fleet.handle('fleet/+/+', 'fleet/plant1/gw.x/arm1/state', state('OK', 3)); // not an id
fleet.handle('fleet/+/+', 'factory/arm1/state', state('OK', 4)); // not under the root
check('two gateways, one sensor name: two sensors', fleet.sensors.size === 2);
check('named by plant and gateway', fleet.sensors.get('plant1/gw1/arm1').state === 'OK');
check('never mixed', fleet.sensors.get('plant1/gw2/arm1').state === 'FAILURE');
check('prediction topic back under its gateway', topicFor('fleet/+/+', 'plant1/gw2/arm1', 'prediction') === 'fleet/plant1/gw2/arm1/prediction');
check('ack topic back under its gateway', topicFor('fleet/+/+', 'plant1/gw1/arm1', 'ack') === 'fleet/plant1/gw1/arm1/ack');
check('a group name routes', validName('plant1/gw1/arm1') && !validName('plant1/gw.1/arm1') && !validName('a/b/c/d/e/arm1'));
check('rootMatch refuses a short topic', rootMatch('fleet/+/+', 'fleet/plant1/gw1') === null);

const plain = new Store();
plain.handle('factory', 'factory/arm1/state', state('OK', 1));
plain.handle('factory', 'factory/arm1/extra/state', state('OK', 1));
check('a plain root as before', plain.sensors.size === 1 && plain.sensors.get('arm1').state === 'OK');
check('plain topics as before', topicFor('factory', 'arm1', 'ack') === 'factory/arm1/ack' && topicFor('plant1/cell2', 'arm.1', 'prediction') === 'plant1/cell2/arm.1/prediction');
process.exit(failed ? 1 : 0);
