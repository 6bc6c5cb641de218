// End-to-end tests of the release build in headless Chromium, driven by playwright-core (never its own browser
// download: it drives Debian's /usr/bin/chromium). Every page a test opens fails the test on any console error,
// uncaught exception, failed response, or request that leaves 127.0.0.1.
//
// Usage: node tests/e2e/run.mjs <base-url> [screenshot-dir]
// `cargo xtask test` builds dist/, serves it on 127.0.0.1 and runs this with PLAYWRIGHT_CORE pointing at the
// playwright-core that setup installed in .tools/.

import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE ?? 'playwright-core');

const BASE = process.argv[2];
const SHOTS = process.argv[3];
if (!BASE) {
  console.error('usage: node tests/e2e/run.mjs <base-url> [screenshot-dir]');
  process.exit(2);
}

// Quiet Chromium on a closed network (see TOOLCHAIN.md).
const QUIET = ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const TIMEOUT = 120_000;

const browsers = {};
async function browser(webgpu) {
  const key = webgpu ? 'webgpu' : 'plain';
  browsers[key] ??= await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: webgpu ? [...QUIET, '--enable-unsafe-webgpu'] : QUIET,
  });
  return browsers[key];
}

/** Opens `path` in a fresh context, recording everything that counts as a problem. */
async function open(path, { webgpu = true } = {}) {
  const context = await (await browser(webgpu)).newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '127.0.0.1') {
      problems.push(`request left 127.0.0.1: ${req.url()}`);
    }
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
  page.on('response', (res) => { if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`); });
  await page.goto(BASE + path);
  return { page, problems, close: () => context.close() };
}

const text = (page, id) => page.getByTestId(id).innerText();
const attr = (page, id, name) => page.getByTestId(id).getAttribute(name);

/** Waits until the output canvas shows a result whose checksum differs from `previous`; returns it. */
async function nextResult(page, previous = null) {
  await page.waitForFunction((prev) => {
    const sum = document.querySelector('[data-testid="output-canvas"]')?.dataset.sum;
    return sum !== undefined && sum !== prev;
  }, previous, { timeout: TIMEOUT });
  return attr(page, 'output-canvas', 'data-sum');
}

/** RGBA bytes of a canvas. */
function pixels(page, id) {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
  }, id);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('home page lists the lessons and links to /kernels', async () => {
  const { page, problems, close } = await open('/');
  await page.getByRole('link', { name: 'Image kernels' }).last().click();
  await page.waitForURL('**/kernels');
  await nextResult(page);
  await close();
  return problems;
});

test('/kernels convolves the photo on WebGPU and shows the backend', async () => {
  const { page, problems, close } = await open('/kernels');
  await nextResult(page);
  const backend = await text(page, 'backend');
  assert(backend.startsWith('WebGPU: '), `backend label is "${backend}"`);
  assert(await page.getByTestId('webgpu-notice').count() === 0, 'the no-WebGPU notice is shown on WebGPU');
  assert(await text(page, 'input-shape') === '[1, 1, 256, 256]', `input shape ${await text(page, 'input-shape')}`);
  assert(await text(page, 'output-shape') === '[1, 1, 256, 256]', `output shape ${await text(page, 'output-shape')}`);
  const stats = await text(page, 'output-stats');
  assert(stats.includes('Computed on WebGPU'), `stats say "${stats}"`);
  const out = await pixels(page, 'output-canvas');
  const distinct = new Set(out.filter((_, i) => i % 4 === 0)).size;
  assert(distinct > 20, `the output has only ${distinct} gray levels: nothing was drawn`);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'kernels.png'), fullPage: true });
  await close();
  return problems;
});

test('choosing a kernel changes the output; identity gives back the input', async () => {
  const { page, problems, close } = await open('/kernels');
  let sum = await nextResult(page);
  await page.getByTestId('preset-identity').click();
  sum = await nextResult(page, sum);
  assert(await page.getByTestId('preset-identity').getAttribute('aria-pressed') === 'true', 'identity not pressed');
  const [input, output] = [await pixels(page, 'input-canvas'), await pixels(page, 'output-canvas')];
  assert(input.length === output.length, 'input and output differ in size');
  const differing = input.filter((v, i) => v !== output[i]).length;
  assert(differing === 0, `identity changed ${differing} bytes of the image`);
  await page.getByTestId('preset-blur').click();
  await nextResult(page, sum);
  const blurred = await pixels(page, 'output-canvas');
  assert(blurred.some((v, i) => v !== input[i]), 'blur left the image unchanged');
  await close();
  return problems;
});

test('RGB makes three channels, and the padding mode changes the border', async () => {
  const { page, problems, close } = await open('/kernels');
  let sum = await nextResult(page);
  await page.getByTestId('photo-select').selectOption('chelsea_small.png');
  sum = await nextResult(page, sum);
  await page.getByTestId('color-rgb').check();
  sum = await nextResult(page, sum);
  assert(await text(page, 'output-shape') === '[1, 3, 170, 256]', `output shape ${await text(page, 'output-shape')}`);
  const zeros = await pixels(page, 'output-canvas');
  await page.getByTestId('padding-mode').selectOption('reflection');
  await nextResult(page, sum);
  const reflected = await pixels(page, 'output-canvas');
  const width = 256;
  // Pixels x from..to (exclusive) of row y, as RGBA bytes.
  const row = (img, y, from = 0, to = width) => img.slice((y * width + from) * 4, (y * width + to) * 4);
  // Only the pixels whose window reads padding can change: the top row does, the inside of a middle row does not.
  assert(row(zeros, 0).some((v, i) => v !== row(reflected, 0)[i]), 'reflection padding left the top row unchanged');
  const inside = (img) => row(img, 80, 1, width - 1);
  assert(inside(zeros).every((v, i) => v === inside(reflected)[i]), 'padding changed pixels away from the border');
  await close();
  return problems;
});

test('without WebGPU the page says so and the CPU computes the same numbers', async () => {
  const gpu = await open('/kernels');
  const gpuSum = Number(await nextResult(gpu.page));
  const gpuPixels = await pixels(gpu.page, 'output-canvas');
  const cpu = await open('/kernels', { webgpu: false });
  const cpuSum = Number(await nextResult(cpu.page));
  assert(await text(cpu.page, 'backend') === 'CPU', `backend label is "${await text(cpu.page, 'backend')}"`);
  const notice = await text(cpu.page, 'webgpu-notice');
  assert(notice.includes('WebGPU is not available'), `notice says "${notice}"`);
  assert(Math.abs(gpuSum - cpuSum) <= 1e-4 * Math.abs(cpuSum) + 1e-3, `sums differ: WebGPU ${gpuSum}, CPU ${cpuSum}`);
  const cpuPixels = await pixels(cpu.page, 'output-canvas');
  const worst = cpuPixels.reduce((m, v, i) => Math.max(m, Math.abs(v - gpuPixels[i])), 0);
  assert(worst <= 1, `pixels differ by up to ${worst} levels between WebGPU and CPU`);
  await gpu.close();
  await cpu.close();
  return [...gpu.problems, ...cpu.problems];
});

test('an unknown address says so and links home', async () => {
  const { page, problems, close } = await open('/no-such-lesson');
  await page.getByText('There is no lesson at this address').waitFor();
  await page.getByRole('link', { name: 'all lessons' }).click();
  await page.waitForURL(BASE + '/');
  await close();
  return problems;
});

if (SHOTS) mkdirSync(SHOTS, { recursive: true });
let passed = 0;
let failed = 0;
for (const { name, fn } of tests) {
  try {
    const problems = await fn();
    if (problems.length) throw new Error(problems.join('\n    '));
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`not ok - ${name}\n    ${String(err.message ?? err).split('\n').join('\n    ')}`);
  }
}
for (const b of Object.values(browsers)) await b.close();
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
