// frame — run each render job at most once per animation frame.
//
// Messages arrive far faster than a screen refreshes (1,000 retained states
// in one burst at connect); each view marks what changed and asks for its
// job, and the job runs once on the next frame over everything marked since.
// Hidden tabs get no frames, so a fallback timer keeps the model's views
// from falling behind by more than a second.

const jobs = new Map(); // key -> fn
let requested = false;

function run() {
  requested = false;
  const todo = [...jobs.values()];
  jobs.clear();
  for (const fn of todo) {
    try {
      fn();
    } catch (e) {
      console.error('render job failed', e);
    }
  }
}

// schedule: run fn once on the next frame; a second call with the same key
// before then is merged into the first.
export function schedule(key, fn) {
  jobs.set(key, fn);
  if (requested) return;
  requested = true;
  requestAnimationFrame(run);
  // rAF does not fire in a background tab: render anyway, once a second.
  setTimeout(() => requested && run(), 1000);
}
