// `cargo xtask bench --browser`: the benchmark workloads in headless Chromium (the speed test page runs them on the
// wasm CPU backend and on WebGPU), plus the release build's size, the first lesson's load time, and each lesson
// that trains, trained in its page: items/s while it draws its curves and the longest main-thread task meanwhile.
//
// Usage: node tests/e2e/bench.mjs <base-url> <dist-dir> [json-file]

import { createRequire } from 'node:module';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE ?? 'playwright-core');

const [BASE, DIST, JSON_FILE] = process.argv.slice(2);
if (!BASE || !DIST) {
  console.error('usage: node tests/e2e/bench.mjs <base-url> <dist-dir> [json-file]');
  process.exit(2);
}
const QUIET = ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The lessons that train in the page: where, which runner, and what it counts. */
const LESSONS_THAT_TRAIN = [
  { name: 'pooling', path: '/pooling', runner: '.head-section', unit: 'images/s' },
  { name: 'dropout', path: '/dropout', runner: '[data-testid="effect-p05"]', unit: 'images/s' },
  { name: 'tabular', path: '/tabular?epochs=1', runner: '.train', unit: 'rows/s' },
  { name: 'train', path: '/train?task=digits&epochs=3', runner: '.settings', unit: 'images/s' },
  // Its six runs of 20 epochs take 15 to 35 minutes on SwiftShader (36 to 17 images/s on the VMs measured): there
  // the bench measures the first runs' epochs for two minutes, then stops the comparison.
  { name: 'augment', path: '/augment', runner: '.effect', unit: 'images/s', gpuLimitS: 120 },
];

/** Trains `lesson` in a fresh page on `choice` (`cpu` or `gpu`, as the runner's device select names them); returns
 * its speed and longest task, or nothing where the page offers no such choice. */
async function trainInPage({ name, path, runner, unit, gpuLimitS }, choice) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    window.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longestTask = Math.max(window.longestTask, entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  const page = await context.newPage();
  await page.goto(`${BASE}${path}`);
  const scope = page.locator(runner);
  const start = scope.getByTestId('train-start');
  await page.waitForFunction((sel) => !document.querySelector(`${sel} [data-testid="train-start"]`)?.disabled, runner, { timeout: 120_000 });
  const select = scope.getByTestId('train-device');
  // The choice of device appears once the page's adapter request settles (the start button may be ready first).
  await select.waitFor({ timeout: 30_000 }).catch(() => {});
  if (!await select.count() || !(await select.locator('option').evaluateAll((os) => os.map((o) => o.value))).includes(choice)) {
    console.log(`  ${name}: the page offers no ${choice} choice here`);
    await context.close();
    return [];
  }
  await select.selectOption(choice);
  const device = choice;
  // Only what happens while it trains counts.
  await page.evaluate(() => { window.longestTask = 0; });
  await start.click();
  // Until it has trained, or (with a limit on this path) until the limit has passed and an epoch has reported its speed.
  const limitMs = choice === 'gpu' && gpuLimitS ? gpuLimitS * 1000 : Infinity;
  const startedAt = Date.now();
  await page.waitForFunction(([sel, until]) => {
    const status = document.querySelector(`${sel} [data-testid="train-status"]`)?.textContent ?? '';
    return /Trained\./.test(status) || (Date.now() > until && /items\/s/.test(status));
  }, [runner, startedAt + limitMs], { timeout: 1_800_000, polling: 1000 });
  let stopped = '';
  if (!/Trained\./.test(await scope.getByTestId('train-status').innerText())) {
    await scope.getByTestId('train-stop').click();
    await scope.getByTestId('train-status').getByText('Stopped after step').waitFor({ timeout: 300_000 });
    stopped = `, stopped after ${Math.round((Date.now() - startedAt) / 1000)} s`;
  }
  const status = await scope.getByTestId('train-status').innerText();
  const speed = Number(status.match(/\(([\d.]+) items\/s\)/)?.[1]);
  const longest = await page.evaluate(() => window.longestTask);
  const where = await scope.getByTestId('train-where').innerText();
  await context.close();
  console.log(`  measured: ${name} in the page on ${device}: ${speed} ${unit}, ${longest ? `longest task ${longest} ms` : 'no task over 50 ms'} (${where}${stopped})`);
  const backend = device === 'gpu' ? 'webgpu' : 'wasm-cpu';
  return [
    { workload: `${name}_page_train`, unit, value: speed, backend },
    { workload: `${name}_longest_task_ms`, unit: 'ms', value: longest, backend },
  ];
}

/** The workloads on the speed test page, as it reports them, and the adapter it names. */
async function speedTest() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  await page.goto(`${BASE}/speed`);
  // The label reads "Looking for a GPU…" until the adapter request settles.
  await page.waitForFunction(() => !document.querySelector('[data-testid="backend"]')?.innerText.startsWith('Looking'),
    null, { timeout: 120_000 });
  const adapter = await page.getByTestId('backend').innerText();
  await page.getByTestId('run-speed-test').click();
  // Print each result as the page reports it (SwiftShader is slow: the whole run takes many minutes).
  let shown = 0;
  const deadline = Date.now() + 3_600_000;
  for (;;) {
    const rows = await page.locator('[data-testid="speed-results"] tbody tr').allInnerTexts();
    for (const row of rows.slice(shown)) console.log(`  measured: ${row.replace(/\s+/g, ' ')}`);
    shown = rows.length;
    if (await page.getByTestId('bench-json').getAttribute('data-state') === 'done') break;
    if (Date.now() > deadline) throw new Error('the speed test page did not finish within an hour');
    await page.waitForTimeout(2000);
  }
  const measured = JSON.parse(await page.getByTestId('bench-json').innerText()).results;
  await context.close();
  if (errors.length) console.log(`console errors: ${errors.join('; ')}`);
  return { measured, adapter };
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...QUIET, '--enable-unsafe-webgpu'] });
try {
  // The release build's size, as Chromium downloads it: dist/ holds two builds of the app (see xtask's dist.rs),
  // and Chromium, which has relaxed SIMD, loads the relaxed one and never the baseline's script and wasm.
  const built = files(DIST);
  const relaxed = built.some((f) => basename(f).startsWith('relaxed-app-'));
  const all = built.filter((f) => !relaxed || !/^app-.*\.(js|wasm)$/.test(basename(f)));
  const wasm = all.find((f) => f.endsWith('.wasm'));
  const wasmBytes = statSync(wasm).size;
  const gz = (f) => gzipSync(readFileSync(f), { level: 9 }).length;
  const extra = [
    { workload: 'wasm_bytes', unit: 'bytes', value: wasmBytes },
    { workload: 'wasm_gzip_bytes', unit: 'bytes', value: gz(wasm) },
    // Everything one build of the site holds: what the service worker caches for offline use.
    { workload: 'site_gzip_bytes', unit: 'bytes', value: all.filter((f) => !f.includes('/.stage/') && !f.endsWith('404.html')).reduce((sum, f) => sum + gz(f), 0) },
  ];

  // Cold loads of the first lesson until its output is drawn, the service worker kept out (its caching of the rest
  // of the site starts after this); the first one also counts what it transferred, gzipped as a host would send it.
  const loads = [];
  let firstLoad = 0;
  const interactive = (page) => page.waitForFunction(
    () => document.querySelector('[data-testid="output-canvas"]')?.dataset.sum !== undefined, null, { timeout: 120_000 });
  for (let i = 0; i < 5; i += 1) {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    const bodies = [];
    if (i === 0) page.on('response', (res) => bodies.push(res.body().then((b) => gzipSync(b, { level: 9 }).length).catch(() => 0)));
    const start = Date.now();
    await page.goto(`${BASE}/kernels`);
    await interactive(page);
    loads.push(Date.now() - start);
    if (i === 0) firstLoad = (await Promise.all(bodies)).reduce((a, b) => a + b, 0);
    await context.close();
  }
  extra.push({ workload: 'first_load_gzip_bytes', unit: 'bytes', value: firstLoad });
  extra.push({ workload: 'load_to_interactive_ms', unit: 'ms', value: median(loads), min: Math.min(...loads),
    max: Math.max(...loads), runs: loads.length });

  // Repeat visits, served by the service worker: one visit installs it, then five loads of the same page.
  {
    const context = await browser.newContext({ serviceWorkers: 'allow' });
    const page = await context.newPage();
    await page.goto(`${BASE}/kernels`);
    await interactive(page);
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
      }
    });
    const repeats = [];
    for (let i = 0; i < 5; i += 1) {
      const start = Date.now();
      await page.goto(`${BASE}/kernels`);
      await interactive(page);
      repeats.push(Date.now() - start);
    }
    await context.close();
    extra.push({ workload: 'repeat_visit_ms', unit: 'ms', value: median(repeats), min: Math.min(...repeats),
      max: Math.max(...repeats), runs: repeats.length });
  }

  // Each lesson that trains, as a learner runs it: its speed in the page while it draws its curves (the runner's
  // items/s over the last epoch), and the longest main-thread task meanwhile (Long Tasks API: tasks over 50 ms).
  // Both paths: the CPU (in the training worker) and WebGPU (SwiftShader here: slow, but its submissions must not
  // hold the page either). BENCH_TRAIN=cpu (or gpu) measures one path only.
  // BENCH_LESSONS=augment,train measures those lessons only.
  const choices = (process.env.BENCH_TRAIN ?? 'cpu,gpu').split(',');
  const only = process.env.BENCH_LESSONS?.split(',');
  for (const choice of choices) {
    for (const lesson of LESSONS_THAT_TRAIN.filter((l) => !only || only.includes(l.name))) extra.push(...await trainInPage(lesson, choice));
  }

  // The workloads, on the speed test page (BENCH_SPEED=off leaves them out).
  const { measured, adapter } = process.env.BENCH_SPEED === 'off' ? { measured: [], adapter: 'not asked (BENCH_SPEED=off)' } : await speedTest();
  const results = [
    ...measured,
    ...extra.map((e) => ({ backend: 'browser', median: e.value, min: e.min ?? e.value, max: e.max ?? e.value, runs: e.runs ?? 1, ...e })),
  ];
  const version = browser.version();
  console.log(`${'workload'.padEnd(24)}${'backend'.padEnd(10)}${'median'.padStart(14)}${'min'.padStart(14)}${'max'.padStart(14)}  unit`);
  for (const r of results) {
    if (r.error) console.log(`${r.workload.padEnd(24)}${r.backend.padEnd(10)}ERROR: ${r.error}`);
    else console.log(`${r.workload.padEnd(24)}${r.backend.padEnd(10)}${r.median.toFixed(1).padStart(14)}${r.min.toFixed(1).padStart(14)}${r.max.toFixed(1).padStart(14)}  ${r.unit}`);
  }
  const report = { machine: { browser: `Chromium ${version}`, adapter }, results };
  if (JSON_FILE) {
    writeFileSync(JSON_FILE, `${JSON.stringify(report, null, 1)}\n`);
    console.log(`wrote ${JSON_FILE}`);
  }
  process.exitCode = results.some((r) => r.error) ? 1 : 0;
} finally {
  await browser.close();
}
