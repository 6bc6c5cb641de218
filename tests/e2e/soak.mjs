// `cargo xtask soak --browser`: trains the digits CNN on /train on WebGPU in headless Chromium for at least 1,000
// steps (batches of 16) and reports, every tenth of the run, the storage buffers the page has created on the GPU
// (the engine's pool: flat once the first steps ran), the JavaScript heap and the wasm memory. It fails if any of
// them grows between the first tenth and the last report taken while it trains (the heap by more than 16 MB: the
// garbage collector runs when it likes; the wasm memory by more than 1 MB, or at all in the run's second half).
//
// Usage: node tests/e2e/soak.mjs <base-url> [steps]

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE ?? 'playwright-core');

const [BASE, STEPS_ARG] = process.argv.slice(2);
const STEPS = Number(STEPS_ARG ?? 1000);
if (!BASE || !(STEPS > 0)) {
  console.error('usage: node tests/e2e/soak.mjs <base-url> [steps]');
  process.exit(2);
}
// /train's digits: 1,437 training images, 90 batches of 16 an epoch.
const EPOCHS = Math.min(20, Math.ceil(STEPS / 90));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--enable-unsafe-webgpu', '--enable-precise-memory-info', '--js-flags=--expose-gc', '--disable-background-networking', '--no-first-run'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
await context.addInitScript(() => {
  // Storage buffers (the engine's pool; uniforms and readbacks are not storage) created by the page.
  window.soak = { storageBuffers: 0 };
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (descriptor) {
    if (descriptor.usage & GPUBufferUsage.STORAGE) window.soak.storageBuffers += 1;
    return create.call(this, descriptor);
  };
  addEventListener('TrunkApplicationStarted', (e) => { window.soak.memory = e.detail.wasm.memory; });
});
const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
await page.goto(`${BASE}/train?task=digits&bs=16&epochs=${EPOCHS}`);
await page.getByTestId('summary').waitFor({ timeout: 120_000 });
await page.getByTestId('train-device').selectOption('gpu');
await page.getByTestId('train-start').click();

const sample = () => page.evaluate(() => {
  if (window.gc) window.gc();
  const progress = document.querySelector('[data-testid="train-progress"]');
  return {
    step: Number(progress?.value ?? 0),
    total: Number(progress?.max ?? 0),
    buffers: window.soak.storageBuffers,
    heapMb: performance.memory.usedJSHeapSize / 1_048_576,
    wasmMb: (window.soak.memory?.buffer.byteLength ?? 0) / 1_048_576,
    done: /Trained\./.test(document.querySelector('[data-testid="train-status"]')?.textContent ?? ''),
  };
});
const reports = [];
const start = Date.now();
let next = Math.ceil(STEPS / 10);
for (;;) {
  const s = await sample();
  if (s.step >= next || s.done) {
    const rate = reports.length ? (s.step - reports.at(-1).step) / ((Date.now() - reports.at(-1).at) / 1000) : s.step / ((Date.now() - start) / 1000);
    reports.push({ ...s, at: Date.now(), rate });
    console.log(`step ${String(s.step).padStart(5)}: storage buffers created ${s.buffers}, JS heap ${s.heapMb.toFixed(1)} MB, wasm memory ${s.wasmMb.toFixed(1)} MB, ${rate.toFixed(1)} steps/s`);
    next += Math.ceil(STEPS / 10);
  }
  if (s.done || s.step >= STEPS + 90) break;
  if (errors.length) break;
  await page.waitForTimeout(500);
}
const accuracy = (await page.getByTestId('train-metric').innerText()).match(/accuracy ([\d.]+)/)?.[1];
await browser.close();
// Flat while it trains: the run's end (the lesson then evaluates the model on its validation images, draws its
// predictions and keeps it) allocates for shapes of its own, once.
const training = reports.filter((r) => !r.done);
const [first, last, end] = [training[0], training.at(-1), reports.at(-1)];
const half = training[Math.floor(training.length / 2)];
const rates = training.slice(1).map((r) => r.rate).sort((a, b) => a - b);
console.log(JSON.stringify({
  soak: 'browser', steps: end.step, batch: 16, storage_buffers_created: [first.buffers, last.buffers], after_the_run: end.buffers,
  js_heap_mb: [+first.heapMb.toFixed(1), +last.heapMb.toFixed(1)], wasm_memory_mb: [first.wasmMb, half.wasmMb, last.wasmMb],
  steps_per_s_median: +(rates[Math.floor(rates.length / 2)] ?? 0).toFixed(1), accuracy: Number(accuracy),
}));
const failures = [...errors.map((e) => `page error: ${e}`)];
if (end.step < STEPS) failures.push(`only ${end.step} steps ran`);
if (training.length < 5) failures.push(`only ${training.length} reports were taken while it trained`);
if (last.buffers > first.buffers) failures.push(`the page created ${last.buffers - first.buffers} more storage buffers after step ${first.step}`);
// The wasm memory grows in 64 KB pages and never shrinks: the run's first half may add a few (the loss curve keeps
// every point, and the last good weights are copied after each epoch); a leak keeps adding them to the end.
if (last.wasmMb > half.wasmMb) failures.push(`the wasm memory grew from ${half.wasmMb} to ${last.wasmMb} MB in the run's second half`);
if (last.wasmMb > first.wasmMb + 1) failures.push(`the wasm memory grew from ${first.wasmMb} to ${last.wasmMb} MB`);
if (last.heapMb > first.heapMb + 16) failures.push(`the JS heap grew from ${first.heapMb.toFixed(1)} to ${last.heapMb.toFixed(1)} MB`);
for (const f of failures) console.error(f);
process.exit(failures.length ? 1 : 0);
