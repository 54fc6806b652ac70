// Build the console: bundle src/main.js (with MQTT.js and uPlot from
// node_modules) and inline it, with the styles, into one index.html in the
// output folder, which the broker's http_dir serves.
//
// One self-contained file because Mosquitto 2.0's HTTP server sends no
// Content-Type: a browser takes an untyped HTML document and inline code,
// but may refuse an untyped external stylesheet. It also means the page
// works offline and from a plain file copy.
//
// Usage: node console/build.mjs OUTDIR
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node console/build.mjs OUTDIR');
  process.exit(2);
}

const js = await build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  // Chromium, Firefox and Safari of the last few years; headsets' browsers too.
  target: ['es2020'],
  legalComments: 'none',
  write: false,
  logLevel: 'warning',
});
const code = js.outputFiles[0].text;
const css =
  readFileSync(join(here, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8') +
  '\n' +
  readFileSync(join(here, 'src/style.css'), 'utf8');
// Inline code must not close its own element early.
if (/<\/script/i.test(code) || /<\/style/i.test(css)) {
  console.error('build: bundle contains a closing </script> or </style>; cannot inline it');
  process.exit(1);
}
const tmpl = readFileSync(join(here, 'src/index.html'), 'utf8');
if (!tmpl.includes('/*@JS@*/') || !tmpl.includes('/*@CSS@*/')) {
  console.error('build: src/index.html lacks the /*@JS@*/ or /*@CSS@*/ placeholder');
  process.exit(1);
}
// Functions as replacements: a "$&" in the code must stay as it is.
const html = tmpl.replace('/*@CSS@*/', () => css).replace('/*@JS@*/', () => code);
mkdirSync(out, { recursive: true });
// Write then rename: the broker may be serving the old file meanwhile.
const tmp = join(out, '.index.html.tmp');
writeFileSync(tmp, html);
renameSync(tmp, join(out, 'index.html'));
console.log(`console: ${join(out, 'index.html')} (${Math.round(html.length / 1024)} KiB)`);
