// End-to-end tests of the release build in headless Chromium, driven by playwright-core (never its own browser
// download: it drives Debian's /usr/bin/chromium). Every page a test opens fails the test on any console error,
// uncaught exception, failed response, or request that leaves 127.0.0.1.
//
// Usage: node tests/e2e/run.mjs <base-url> [screenshot-dir]
// `cargo xtask test` builds dist/, serves it on 127.0.0.1 and runs this with PLAYWRIGHT_CORE pointing at the
// playwright-core that setup installed in .tools/, and PHOTO_PIXELS at the shipped photos' pixels decoded natively
// (`cargo run -p app --example photo_pixels -- DIR`).

import { createRequire } from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import zlib from 'node:zlib';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE ?? 'playwright-core');

const BASE = process.argv[2];
// The same build under a sub-path of a plain static host that cannot rewrite routes (xtask's server, Host::Plain):
// it answers a deep link with the site's 404.html, status 404.
const SUBPATH_BASE = process.env.SUBPATH_BASE;
const SHOTS = process.argv[3];
if (!BASE) {
  console.error('usage: node tests/e2e/run.mjs <base-url> [screenshot-dir]');
  process.exit(2);
}

// Quiet Chromium on a closed network (see xtask/TOOLCHAIN.md).
const QUIET = ['--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const TIMEOUT = 120_000;

const browsers = {};
/** Chromium with WebGPU or without, and with a fake webcam (Chromium's own test pattern, granted without asking). */
async function browser(webgpu, camera = false) {
  const key = `${webgpu ? 'webgpu' : 'plain'}${camera ? '-camera' : ''}`;
  const media = camera ? ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'] : [];
  browsers[key] ??= await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...QUIET, ...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...media],
  });
  return browsers[key];
}

/** Makes `WebAssembly.validate` refuse modules with `f32x4.relaxed_madd`, as a browser without relaxed SIMD does
 * (Safari): the site's loader then picks the baseline build. */
function hideRelaxedSimd() {
  const validate = WebAssembly.validate;
  WebAssembly.validate = (source) => {
    const bytes = ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength) : new Uint8Array(source);
    for (let i = 0; i + 2 < bytes.length; i += 1) {
      if (bytes[i] === 253 && bytes[i + 1] === 133 && bytes[i + 2] === 2) return false;
    }
    return validate(source);
  };
}

/** The two builds of the app (see xtask's dist.rs), as `open`'s option and as test messages name them. */
const BUILDS = [{ relaxedSimd: true, name: 'relaxed-SIMD build' }, { relaxedSimd: false, name: 'baseline build' }];

/** Opens `path` in a fresh context, recording everything that counts as a problem. */
async function open(path, { webgpu = true, relaxedSimd = true, camera = false, base = BASE, serviceWorkers = false, reducedMotion = 'no-preference', init = null } = {}) {
  // The site's service worker caches the whole site on a first visit: only the tests of the offline site let it.
  const context = await (await browser(webgpu, camera)).newContext({
    viewport: { width: 1280, height: 900 }, serviceWorkers: serviceWorkers ? 'allow' : 'block', reducedMotion,
  });
  if (!relaxedSimd) await context.addInitScript(hideRelaxedSimd);
  // What a test arranges before the page's own scripts run (a full storage, a handle on the GPU devices).
  if (init) await context.addInitScript(init);
  // Anything the site's Content Security Policy refuses is a problem (Chromium also logs it as an error).
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} refused ${e.blockedURI || 'inline code'}`);
  }));
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('console', (msg) => {
    // Under the plain host, Chromium also logs each 404 it loads as an error; the response handler below judges
    // every 404 (only a deep link's page may be one), so these are left to it.
    const loaded404 = base !== BASE && msg.text().includes('responded with a status of 404');
    // A panic in the app (its hook logs 'panicked at') is a bug whatever the test checks.
    if (msg.text().includes('panicked at')) problems.push(`panic: ${msg.text()}`);
    else if (msg.type() === 'error' && !loaded404) problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && url.hostname !== '127.0.0.1') {
      problems.push(`request left 127.0.0.1: ${req.url()}`);
    }
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
  page.on('response', (res) => {
    // The plain host's 404.html is the site's page: a deep link there is answered with it, status 404.
    const deepLink = base !== BASE && res.status() === 404 && res.request().isNavigationRequest();
    if (res.status() >= 400 && !deepLink) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  await page.goto(base + path);
  return { page, problems, context, close: () => context.close() };
}

/** Waits until the site's service worker is active (its files cached) and controls the page. */
async function serviceWorkerReady(page) {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    }
  });
}

/** Serves a copy of the built site from `dir` on a free port, routes answered with its page, so that a test can
 * change the copy while a page has it open. */
async function serveCopy(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css',
    '.webmanifest': 'application/manifest+json', '.svg': 'image/svg+xml', '.png': 'image/png' };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://copy').pathname);
    let file = join(dir, path);
    if (path.includes('..') || !existsSync(file) || statSync(file).isDirectory()) file = join(dir, 'index.html');
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** The message row `n` of tests/BAD_INPUTS.md quotes: what the page says for that bad input. */
function badInput(n) {
  const row = readFileSync('tests/BAD_INPUTS.md', 'utf8').split('\n').find((line) => line.startsWith(`| ${n} |`));
  if (!row) throw new Error(`BAD_INPUTS.md has no row ${n}`);
  return row.slice(2, -2).split(' | ')[3].trim().replace(/^`|`$/g, '');
}

/** Waits until the element with test id `id` says `message`. */
async function says(page, id, message) {
  try {
    await page.waitForFunction(([id, message]) => document.querySelector(`[data-testid="${id}"]`)?.textContent.includes(message), [id, message]);
  } catch {
    const said = await page.getByTestId(id).first().textContent({ timeout: 1000 }).catch(() => 'nothing');
    const status = await page.getByTestId('train-status').first().textContent({ timeout: 1000 }).catch(() => '');
    throw new Error(`${id} does not say “${message}”; it says “${said}”${status ? ` (the run's status: “${status}”)` : ''}`);
  }
}

/** A PNG file of a `side` x `side` gray image, made here (one bit per pixel, so that even 10,000 pixels a side is
 * small). */
function grayPng(side) {
  // PNG's CRC-32 (zlib.crc32 needs Node 20.15 or later).
  const crc32 = (bytes) => {
    let c = ~0;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k += 1) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.set([1, 0, 0, 0, 0], 8); // 1 bit per pixel, grayscale
  const row = Math.ceil(side / 8) + 1; // a filter byte, then the bits
  const raw = Buffer.alloc(row * side, 0x55);
  for (let y = 0; y < side; y += 1) raw[y * row] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
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

test('home page lists the lessons and links to /kernels, under the site\'s Content Security Policy', async () => {
  const { page, problems, close } = await open('/');
  // The policy is in the page, and no inline script is left for it to refuse (a violation is a problem in every test).
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert(csp?.startsWith("default-src 'self'") && csp.includes("script-src 'self' 'wasm-unsafe-eval'"), `the page's policy: ${csp}`);
  assert(await page.locator('script:not([src])').count() === 0, 'an inline script is left in the page');
  await page.getByRole('link', { name: 'Image kernels' }).last().click();
  await page.waitForURL(/\/kernels/);
  await nextResult(page);
  await close();
  return problems;
});

test('under a sub-path of a plain static host: a deep link with settings, the links, the data and training in a worker', async () => {
  assert(SUBPATH_BASE, 'no SUBPATH_BASE given (xtask serves the site under a sub-path for this test)');
  const { page, problems, close } = await open('/kernels?kernel=identity&y=50&x=50', { base: SUBPATH_BASE });
  const requests = [];
  page.on('request', (req) => { if (!req.url().startsWith('blob:')) requests.push(req.url()); });
  // The deep link's route and settings: the identity kernel at pixel (50, 50).
  await nextResult(page);
  assert(await page.getByTestId('preset-identity').getAttribute('aria-pressed') === 'true', 'the link\'s kernel was not restored');
  assert(new URL(page.url()).pathname === '/some/path/kernels', `the page moved to ${page.url()}`);
  // The header's links stay under the sub-path; the heatmap's model loads from it.
  await page.getByRole('navigation', { name: 'Lessons' }).getByRole('link', { name: 'Heatmap' }).click();
  await page.waitForURL(`${SUBPATH_BASE}/heatmap`);
  await page.getByTestId('prediction').getByText('the model says').waitFor();
  // A lesson that loads the digits and trains them in the worker, opened afresh from its deep link.
  await page.goto(`${SUBPATH_BASE}/train?task=digits&epochs=1`);
  const run = await trainHere(page, 'cpu');
  assert(run.where.includes('in a Web Worker'), `the run says "${run.where}"`);
  await page.goto(`${SUBPATH_BASE}/`);
  await page.getByRole('heading', { name: 'Deep learning, number by number' }).waitFor();
  const outside = requests.filter((url) => !url.startsWith(`${SUBPATH_BASE}/`));
  assert(outside.length === 0, `requests outside the sub-path: ${outside.join(', ')}`);
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

test('without WebGPU the page says so and the CPU computes the same numbers, in both builds of the app', async () => {
  const gpu = await open('/kernels');
  const gpuSum = Number(await nextResult(gpu.page));
  const gpuPixels = await pixels(gpu.page, 'output-canvas');
  const problems = [...gpu.problems];
  for (const { relaxedSimd, name: build } of BUILDS) {
    const cpu = await open('/kernels', { webgpu: false, relaxedSimd });
    const cpuSum = Number(await nextResult(cpu.page));
    assert(await text(cpu.page, 'backend') === 'CPU', `${build}: backend label is "${await text(cpu.page, 'backend')}"`);
    const notice = await text(cpu.page, 'webgpu-notice');
    assert(notice.includes(badInput(67)), `${build}: notice says "${notice}"`);
    assert(Math.abs(gpuSum - cpuSum) <= 1e-4 * Math.abs(cpuSum) + 1e-3, `${build}: sums differ: WebGPU ${gpuSum}, CPU ${cpuSum}`);
    const cpuPixels = await pixels(cpu.page, 'output-canvas');
    const worst = cpuPixels.reduce((m, v, i) => Math.max(m, Math.abs(v - gpuPixels[i])), 0);
    assert(worst <= 1, `${build}: pixels differ by up to ${worst} levels between WebGPU and CPU`);
    await cpu.close();
    problems.push(...cpu.problems);
  }
  await gpu.close();
  return problems;
});

test('/channels: four kernels give the same channels on the CPU, in both builds, as on WebGPU', async () => {
  // Four output channels make the convolution's product several rows tall, so the CPU computes it with the
  // packed product's micro-kernel (a single channel takes the one-row path): relaxed SIMD's fused multiply-add in
  // one build, a multiply and an add in the other.
  const channelSums = async (options, label) => {
    const { page, problems, close } = await open('/channels?kernels=4&y=30&x=40&bias=0.1', options);
    await page.waitForFunction(() => [0, 1, 2, 3].every((k) => document.querySelector(`[data-testid="output-canvas-${k}"]`)?.dataset.sum !== undefined));
    const expected = options.webgpu === false ? 'CPU' : 'WebGPU';
    assert((await text(page, 'backend')).includes(expected), `${label}: computed on "${await text(page, 'backend')}"`);
    const t = await traceNumbers(page, 'trace-product');
    assert(Math.abs(t.output - t.engine) <= 2e-4, `${label}: the trace gives ${t.output}, the engine ${t.engine}`);
    const sums = [];
    for (let k = 0; k < 4; k += 1) sums.push(Number(await attr(page, `output-canvas-${k}`, 'data-sum')));
    await close();
    return { sums, problems };
  };
  const gpu = await channelSums({}, 'WebGPU');
  const problems = [...gpu.problems];
  for (const { relaxedSimd, name: label } of BUILDS) {
    const cpu = await channelSums({ webgpu: false, relaxedSimd }, label);
    cpu.sums.forEach((sum, k) => {
      assert(Math.abs(sum - gpu.sums[k]) <= 1e-4 * Math.abs(sum) + 1e-3, `${label}: channel ${k} sums to ${sum}, on WebGPU ${gpu.sums[k]}`);
    });
    problems.push(...cpu.problems);
  }
  return problems;
});

test('/speed says which matrix-product kernel the loader chose: relaxed SIMD where the browser has it', async () => {
  const problems = [];
  for (const [relaxedSimd, expected] of [[true, 'fused multiply-adds (relaxed SIMD)'], [false, 'no relaxed SIMD']]) {
    const { page, problems: seen, close } = await open('/speed', { relaxedSimd });
    const kernel = await text(page, 'cpu-kernel');
    assert(kernel.includes(expected), `with relaxed SIMD ${relaxedSimd ? 'available' : 'hidden'} the page says "${kernel}"`);
    await close();
    problems.push(...seen);
  }
  return problems;
});

test('an unknown address says so and links home', async () => {
  const { page, problems, close } = await open('/no-such-lesson');
  await page.getByText('There is no lesson at this address').waitFor();
  await page.getByRole('link', { name: 'all lessons' }).click();
  await page.waitForURL(BASE + '/');
  await close();
  return problems;
});

/** The numbers a trace shows: products (by test-id prefix), sum, bias and output, and the engine's value. */
async function traceNumbers(page, productPrefix) {
  const products = await page.locator(`[data-testid^="${productPrefix}"] td`).allInnerTexts();
  const number = async (id) => Number(await text(page, id));
  return {
    products: products.map(Number),
    sum: await number('trace-sum'),
    bias: await number('trace-bias'),
    output: await number('trace-output'),
    engine: await number('output-value'),
  };
}

function assertTraceAddsUp(t, what) {
  const total = t.products.reduce((a, b) => a + b, 0);
  // Each product is shown to 3 decimals: their sum may be off by half a unit of the last decimal each.
  assert(Math.abs(total - t.sum) <= t.products.length * 0.0005 + 1e-4, `${what}: the products add up to ${total}, not ${t.sum}`);
  assert(Math.abs(t.sum + t.bias - t.output) <= 2e-4, `${what}: ${t.sum} + ${t.bias} is not ${t.output}`);
  assert(Math.abs(t.output - t.engine) <= 2e-4, `${what}: the trace gives ${t.output}, the engine ${t.engine}`);
}

test('/kernels: a selected pixel\'s products, sum and bias make the engine\'s output value', async () => {
  const { page, problems, close } = await open('/kernels?y=100&x=120');
  await nextResult(page);
  await page.getByTestId('trace').waitFor();
  assertTraceAddsUp(await traceNumbers(page, 'trace-product'), 'pixel (100, 120)');
  // The arrow keys move the selection.
  await page.getByTestId('output-canvas').focus();
  await page.keyboard.press('ArrowRight');
  await page.getByText('Output pixel (row 100, column 121)').waitFor();
  assertTraceAddsUp(await traceNumbers(page, 'trace-product'), 'pixel (100, 121)');
  await close();
  return problems;
});

test('/kernels: editing a kernel cell and the bias changes the output, and the link restores it', async () => {
  const { page, problems, close } = await open('/kernels?kernel=identity&y=50&x=50');
  let sum = await nextResult(page);
  await page.getByTestId('kernel-cell-1-1').fill('2');
  await page.getByTestId('kernel-cell-1-1').press('Enter');
  sum = await nextResult(page, sum);
  await page.getByTestId('bias').fill('0.25');
  await page.getByTestId('bias').press('Enter');
  sum = await nextResult(page, sum);
  assert(await page.getByTestId('preset-identity').getAttribute('aria-pressed') === 'false', 'an edited kernel is no longer the preset');
  const t = await traceNumbers(page, 'trace-product');
  assertTraceAddsUp(t, 'edited kernel');
  assert(Math.abs(t.bias - 0.25) < 1e-6, `the bias is ${t.bias}`);
  const url = page.url();
  assert(url.includes('kernel=custom') && url.includes('w=0,0,0,0,2,0,0,0,0') && url.includes('bias=0.25'), `the URL is ${url}`);
  // A fresh page from the shared link shows the same state and the same result.
  const shared = await open(url.slice(BASE.length));
  const sharedSum = await nextResult(shared.page);
  assert(sharedSum === sum, `the shared link computes ${sharedSum}, the original ${sum}`);
  assert(await shared.page.getByTestId('kernel-cell-1-1').inputValue() === '2', 'the shared link lost the edited weight');
  assert(await text(shared.page, 'trace-bias') === '0.2500', 'the shared link lost the bias');
  await shared.close();
  await close();
  return [...problems, ...shared.problems];
});

test('/kernels: the lesson\'s kernel sums the three channels into one output, and no padding loses a pixel per border', async () => {
  const { page, problems, close } = await open('/kernels?photo=chelsea_small.png&color=rgb-summed&kernel=lesson-edge&mode=none&y=20&x=30');
  await nextResult(page);
  assert(await text(page, 'output-shape') === '[1, 1, 168, 254]', `output shape ${await text(page, 'output-shape')}`);
  await page.getByTestId('trace-product-2').waitFor();
  const t = await traceNumbers(page, 'trace-product-');
  assert(t.products.length === 27, `${t.products.length} products, not 3 channels x 9`);
  assertTraceAddsUp(t, 'the summed channels');
  await page.getByTestId('padding-mode').selectOption('zeros');
  await page.waitForFunction(() => document.querySelector('[data-testid="output-shape"]')?.textContent === '[1, 1, 170, 256]');
  assert(page.url().includes('mode=zeros') && page.url().includes('color=rgb-summed'), `the URL is ${page.url()}`);
  await close();
  return problems;
});

test('/kernels: an unusable link value falls back to its default with a notice', async () => {
  const { page, problems, close } = await open('/kernels?mode=wrapped&kernel=nope&bias=zz');
  await nextResult(page);
  const notice = await text(page, 'query-notice');
  assert(notice.includes('mode=wrapped') && notice.includes('kernel=nope') && notice.includes('bias=zz'), `notice: ${notice}`);
  assert(await page.getByTestId('padding-mode').inputValue() === 'zeros', 'the mode did not fall back to zeros');
  await close();
  return problems;
});

test('/kernels: play walks the pixels and step moves one', async () => {
  const { page, problems, close } = await open('/kernels?y=0&x=0');
  await nextResult(page);
  await page.getByTestId('step').click();
  await page.getByText('Output pixel (row 0, column 1)').waitFor();
  await page.getByTestId('speed').selectOption('30');
  await page.getByTestId('play').click();
  await page.waitForFunction(() => /column ([5-9]|\d\d)\)/.test(document.querySelector('[data-testid="trace"] h2')?.textContent ?? ''));
  await page.getByTestId('play').click();
  await close();
  return problems;
});

test('/padding-stride: the output size follows the formula as stride and padding change', async () => {
  const { page, problems, close } = await open('/padding-stride?size=8&k=3&p=1&s=1');
  const size = async () => Number((await text(page, 'output-size')).match(/output is (\d+) x/)[1]);
  const formulaResult = async () => Number((await text(page, 'formula')).split('= ').pop());
  assert(await size() === 8 && await formulaResult() === 8, 'stride 1, padding 1 keeps 8 x 8');
  await page.getByTestId('stride').selectOption('2');
  await page.getByText('The output is 4 x 4').waitFor();
  assert(await formulaResult() === 4, 'stride 2 halves the size');
  assert(await page.locator('td[data-testid^="output-"]').count() === 16, 'the output grid is 4 x 4');
  await page.getByTestId('padding').selectOption('0');
  await page.getByTestId('kernel').selectOption('5');
  await page.getByText('The output is 2 x 2').waitFor();
  await page.getByTestId('padding').selectOption('0');
  await page.getByTestId('kernel').selectOption('7');
  await page.getByTestId('dilation').selectOption('2');
  await page.getByTestId('error').waitFor();
  assert((await text(page, 'formula')).endsWith('no window fits'), 'the formula says no window fits');
  await close();
  return problems;
});

test('/padding-stride: settings the convolution rejects show its reason and no padded cells made up from them', async () => {
  // Reflection cannot pad 3 cells on a 3-cell input: there is nothing to mirror that far.
  const { page, problems, close } = await open('/padding-stride?size=3&k=3&p=3&mode=reflection');
  await page.getByTestId('error').waitFor();
  assert(await page.locator('[data-testid^="padded-"]').count() === 0, 'padded cells are drawn for rejected settings');
  await page.getByTestId('padding').selectOption('1');
  await page.getByTestId('padded-0-0').waitFor();
  assert(await page.getByTestId('error').count() === 0, 'the error stays after a usable padding');
  await close();
  return problems;
});

test('/padding-stride: border and reflection padding show which cell each padded value copies', async () => {
  const { page, problems, close } = await open('/padding-stride?size=4&k=3&p=1&mode=reflection');
  // Padded cell (0, 0) is the mirror of input cell (1, 1), whose number is 1·4 + 1 + 1 = 6.
  const corner = await text(page, 'padded-0-0');
  assert(corner.startsWith('6') && corner.includes('(1, 1)'), `the reflected corner shows ${corner}`);
  await page.getByTestId('padding-mode').selectOption('border');
  await page.getByText('← (0, 0)').first().waitFor();
  assert((await text(page, 'padded-0-0')).startsWith('1'), 'the border corner copies cell (0, 0)');
  await page.getByTestId('padding-mode').selectOption('zeros');
  await page.waitForFunction(() => document.querySelector('[data-testid="padded-0-0"]')?.textContent.startsWith('0'));
  // Choosing an output cell lights up its window.
  await page.getByTestId('output-2-3').click();
  assert(await page.locator('[data-testid^="padded-"].window').count() === 9, 'a 3x3 window is lit');
  assert(page.url().includes('y=2') && page.url().includes('x=3'), `the URL is ${page.url()}`);
  await page.waitForFunction(() => document.querySelector('[data-testid="reflection-canvas"]')?.width > 0);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'padding-stride.png'), fullPage: true });
  await close();
  return problems;
});

test('/channels: per-channel sums add up to the output of a rank-3 kernel, and K kernels give K channels', async () => {
  const { page, problems, close } = await open('/channels?kernels=2&y=30&x=40&bias=0.1');
  await page.getByTestId('trace').waitFor();
  const sums = [];
  for (const ch of [0, 1, 2]) {
    const products = (await page.locator(`[data-testid^="trace-product-${ch}"] td`).allInnerTexts()).map(Number);
    const sum = Number(await text(page, `channel-sum-${ch}`));
    assert(Math.abs(products.reduce((a, b) => a + b, 0) - sum) <= 9 * 0.0005 + 1e-4, `channel ${ch}'s products do not add up to ${sum}`);
    sums.push(sum);
  }
  const t = await traceNumbers(page, 'trace-product');
  assert(Math.abs(sums.reduce((a, b) => a + b, 0) - t.sum) <= 3e-4, 'the channel sums do not add up to the total');
  assert(Math.abs(t.sum + t.bias - t.output) <= 2e-4 && Math.abs(t.output - t.engine) <= 2e-4, 'total + bias is not the engine output');
  assert((await text(page, 'shape-output')).startsWith('[1, 2,'), `output shape ${await text(page, 'shape-output')}`);
  assert(await text(page, 'shape-weight') === '[2, 3, 3, 3]', 'the weight is rank 4');
  await page.getByTestId('kernel-count').selectOption('4');
  await page.getByTestId('output-canvas-3').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="shape-output"]')?.textContent.startsWith('[1, 4,'));
  // The matrix view's product is the convolution.
  for (const pad of ['0', '1']) {
    await page.getByTestId('matrix-padding').selectOption(pad);
    const n = pad === '0' ? 4 : 16;
    await page.getByTestId(`conv-output-${n - 1}`).waitFor();
    for (let i = 0; i < n; i += 1) {
      const [a, b] = [Number(await text(page, `matrix-product-${i}`)), Number(await text(page, `conv-output-${i}`))];
      assert(Math.abs(a - b) < 2e-3, `padding ${pad}, pixel ${i}: matrix ${a}, conv2d ${b}`);
    }
  }
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'channels.png'), fullPage: true });
  await close();
  return problems;
});

test('every shipped photo reaches the page as the file\'s own pixels, at the size its lesson uses', async () => {
  const dir = process.env.PHOTO_PIXELS;
  assert(dir, 'PHOTO_PIXELS names no folder of decoded photos (cargo xtask test sets it)');
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  assert(index.length >= 10, `only ${index.length} photos were decoded`);
  const problems = [];
  for (const [n, { file, side, width, height }] of index.entries()) {
    // /kernels loads the photos at 256 pixels, /channels at 128. The CPU path is enough: the input is the same.
    const [path, done] = side === 256
      ? [`/kernels?photo=${file}&color=rgb&kernel=identity`, 'output-canvas']
      : [`/channels?photo=${file}&kernels=1`, 'output-canvas-0'];
    const opened = await open(path, { webgpu: false });
    await opened.page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.dataset.sum !== undefined, done);
    const size = await opened.page.evaluate(() => { const c = document.querySelector('[data-testid="input-canvas"]'); return [c.width, c.height]; });
    assert(size[0] === width && size[1] === height, `${path}: the page's input is ${size.join('x')}, the file ${width}x${height}`);
    const rgba = await pixels(opened.page, 'input-canvas');
    const rgb = readFileSync(join(dir, `${n}.rgb`));
    let differ = 0;
    let first = '';
    for (let i = 0; i < width * height; i += 1) {
      for (let c = 0; c < 3; c += 1) {
        if (rgba[4 * i + c] !== rgb[3 * i + c]) {
          if (!differ) first = `pixel (${Math.floor(i / width)}, ${i % width}) channel ${c}: page ${rgba[4 * i + c]}, file ${rgb[3 * i + c]}`;
          differ += 1;
        }
      }
    }
    assert(differ === 0, `${path}: ${differ} values differ from ${file} at ${side} pixels, first ${first}`);
    problems.push(...opened.problems);
    await opened.close();
  }
  return problems;
});

test('/pooling: each window keeps its maximum or mean, and the head\'s dot product is its score', async () => {
  const { page, problems, close } = await open('/pooling?pool=max&k=2&s=2&y=1&x=2');
  await page.getByTestId('pool-trace').waitFor();
  const kept = Number(await text(page, 'pool-trace-output'));
  assert(kept === Number(await text(page, 'pool-output-value')), 'the trace and the output differ');
  const marked = await page.locator('[data-testid^="pool-input-"].argmax').allInnerTexts();
  assert(marked.length === 1 && Number(marked[0]) === kept, `the marked maximum is ${marked}`);
  assert(await text(page, 'pool-output-shape') === '[1, 1, 4, 4]', 'stride 2 halves the digit');
  await page.getByTestId('pool-avg').check();
  await page.waitForFunction(() => document.querySelector('[data-testid="pool-trace"]')?.textContent.includes('/'));
  await page.getByTestId('dot-product').waitFor({ timeout: 120_000 });
  assert((await text(page, 'weights-state')).startsWith('untrained'), 'untrained weights are labelled as such');
  await page.getByTestId('class-2').click();
  await page.getByText('score of triangle').waitFor();
  const [total, score] = [Number(await text(page, 'dot-total')), Number(await text(page, 'dot-score'))];
  assert(Math.abs(total - score) < 2e-3, `the dot product gives ${total}, the layer ${score}`);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'pooling.png'), fullPage: true });
  await close();
  return problems;
});

test('/pooling trains the shapes model in the page: the loss falls, pause holds, the page keeps answering', async () => {
  const { page, problems, close } = await open('/pooling?pool=max&k=2&s=2');
  await page.getByTestId('dot-product').waitFor();
  // SwiftShader runs WebGPU on the CPU: the runner trains on the CPU by default and says why.
  assert(await page.getByTestId('train-device').inputValue() === 'cpu', 'the runner does not default to the CPU on SwiftShader');
  assert((await text(page, 'train-device-note')).includes('runs on the CPU'), 'the runner does not say why it trains on the CPU');
  await page.getByTestId('train-start').click();
  // On the CPU it trains in the training worker, off the page's thread.
  await page.getByTestId('train-where').getByText('in a Web Worker').waitFor();
  const progress = async () => Number(await page.getByTestId('train-progress').getAttribute('value'));
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="train-progress"]')?.value) >= 4);
  // The page answers while it trains: switching to average pooling redraws the window's trace.
  await page.getByTestId('pool-avg').check();
  await page.waitForFunction(() => document.querySelector('[data-testid="pool-trace"]')?.textContent.includes('/'), null, { timeout: 5_000 });
  await page.getByTestId('train-pause').click();
  await page.getByText('(paused)').waitFor();
  const held = await progress();
  await page.waitForTimeout(600);
  assert(await progress() === held, 'training went on while paused');
  // Paused, the head shows the half-trained model.
  await page.getByTestId('dot-product').waitFor();
  assert((await text(page, 'weights-state')).startsWith('weights after step'), `the weights are "${await text(page, 'weights-state')}"`);
  await page.getByTestId('train-pause').click();
  await page.getByText('Trained.').waitFor({ timeout: 600_000 });
  const curve = (plot, series) => page.locator(`[data-testid="${plot}"] polyline[data-series="${series}"]`);
  const losses = curve('loss-plot', 'training loss');
  assert(Number(await losses.getAttribute('data-count')) >= 10, 'too few training losses were plotted');
  const [first, last] = [Number(await losses.getAttribute('data-first')), Number(await losses.getAttribute('data-last'))];
  assert(last < first, `the training loss went from ${first} to ${last}`);
  assert(Number(await curve('metric-plot', 'accuracy').getAttribute('data-count')) === 3, 'one validation accuracy per epoch');
  const accuracy = Number((await text(page, 'train-metric')).match(/accuracy ([\d.]+)/)[1]);
  assert(accuracy > 0.5, `the validation accuracy is ${accuracy} after three epochs`);
  assert((await text(page, 'weights-state')) === 'trained weights', 'the head does not say it shows trained weights');
  await page.getByTestId('dot-product').waitFor();
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'pooling-trained.png'), fullPage: true });
  await close();
  return problems;
});

/** The 8x8 grid `id` of /dropout, as numbers. */
async function grid8(page, id) {
  return (await page.locator(`td[data-testid^="${id}-"]`).allInnerTexts()).map(Number);
}

test('/dropout: p = 0.5 drops about half and doubles the rest while training, and nothing in evaluation', async () => {
  const { page, problems, close } = await open('/dropout?p=0.5&mode=train&seed=3');
  await page.getByTestId('dropout-summary').getByText('dropped').waitFor();
  const x = await grid8(page, 'activations');
  const texts = await page.locator('td[data-testid^="dropout-output-"]').allInnerTexts();
  const mask = await grid8(page, 'mask');
  assert(x.length === 64 && mask.length === 64 && texts.length === 64, 'three 8x8 grids');
  const dropped = mask.filter((m) => m === 0).length;
  assert(dropped >= 20 && dropped <= 44, `${dropped} of 64 dropped at p = 0.5`);
  assert((await text(page, 'dropout-conventions')).includes("is the paper's p = 0.5 (the probability of keeping)"), "the paper's convention is not given");
  for (let i = 0; i < 64; i += 1) {
    const expected = mask[i] === 1 ? (2 * x[i]).toFixed(2) : '0.00';
    assert(texts[i] === expected, `cell ${i}: ${texts[i]} where ${x[i]} ${mask[i] ? 'doubled' : 'dropped'} is ${expected}`);
  }
  // Another mask is another draw; the page answers at once.
  await page.getByTestId('next-mask').click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('seed') === '4');
  await page.getByTestId('mode-eval').check();
  await page.waitForFunction(() => [...document.querySelectorAll('td[data-testid^="mask-"]')].every((td) => td.textContent.trim() === '1'));
  const y = await grid8(page, 'dropout-output');
  assert(y.every((v, i) => Math.abs(v - x[i]) < 1e-9), 'evaluation changed a value');
  // Averaging many masks comes back to the input.
  const gap = async (n) => Number(await text(page, `gap-${n}`));
  assert(await gap(10000) < await gap(1) && await gap(10000) < 0.1, 'the mean of 10,000 masks is not near the input');
  // Training with dropout starts, and the page keeps answering while it trains.
  const run = page.getByTestId('effect-p05');
  await run.getByTestId('train-start').click();
  await page.waitForFunction(() => /Step ([5-9]|\d\d+) of/.test(document.querySelector('[data-testid="effect-p05"] [data-testid="train-status"]')?.textContent ?? ''));
  await page.getByTestId('mode-train').check();
  await page.waitForFunction(() => [...document.querySelectorAll('td[data-testid^="mask-"]')].some((td) => td.textContent.trim() === '0'));
  await run.getByTestId('train-stop').click();
  await run.getByTestId('train-status').getByText('Stopped after step').waitFor();
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'dropout.png'), fullPage: true });
  await close();
  return problems;
});

test('/batchnorm: the running mean after k steps is the moving average of the batch means it displayed', async () => {
  const { page, problems, close } = await open('/batchnorm?n=8&momentum=0.5&k=12&feature=2');
  await page.getByTestId('bn-step-12').waitFor();
  const rows = page.locator('[data-testid="bn-steps"] tbody tr');
  const batchMeans = (await rows.locator('td.batch-mean').evaluateAll((tds) => tds.map((td) => Number(td.dataset.value))));
  const runningMeans = (await rows.locator('td.running-mean').evaluateAll((tds) => tds.map((td) => Number(td.dataset.value))));
  assert(batchMeans.length === 12 && runningMeans.length === 12, `${batchMeans.length} steps listed for k = 12`);
  // PyTorch's convention: running = (1 - momentum) * running + momentum * batch, from 0.
  let running = 0;
  for (let k = 0; k < 12; k += 1) {
    running = 0.5 * running + 0.5 * batchMeans[k];
    assert(Math.abs(running - runningMeans[k]) < 1e-4, `step ${k + 1}: running mean ${runningMeans[k]}, moving average ${running}`);
  }
  // The table's last running mean is the one the statistics table shows for feature 2.
  assert(Math.abs(Number(await text(page, 'bn-running-mean-2')) - running) < 1e-3, 'the statistics table disagrees with the steps');
  // Training output: each column has mean beta (0); evaluation uses the running statistics and differs.
  const column = async (id, c) => (await page.locator(`td[data-testid^="${id}-"]`).evaluateAll((tds, id) => tds
    .filter((td) => new RegExp(`^${id}-\\d+-\\d+$`).test(td.dataset.testid)).map((td) => Number(td.textContent)), id)).filter((_, i) => i % 3 === c);
  await page.locator('td[data-testid="bn-output-0-0"]').waitFor();
  const trained = await column('bn-output', 0);
  assert(Math.abs(trained.reduce((a, b) => a + b, 0) / trained.length) < 0.01, `training output mean ${trained}`);
  await page.getByTestId('mode-eval').check();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('mode') === 'eval');
  const evaluated = await column('bn-output', 0);
  assert(evaluated.some((v, i) => Math.abs(v - trained[i]) > 1e-3), 'evaluation gave the training output');
  // The grid before "× γ + β =" is the normalisation evaluation used: with γ = 1 and β = 0 it is the output.
  assert((await text(page, 'bn-normalized-caption')).includes('running mean'), 'the normalised grid does not say it used the running statistics');
  const normalized = await column('bn-normalized', 0);
  assert(normalized.every((v, i) => Math.abs(v - evaluated[i]) < 2e-3), `x̂ ${normalized} × 1 + 0 is not the evaluation output ${evaluated}`);
  // Another batch: one more step listed; gamma edits the output.
  await page.getByTestId('next-step').click();
  await page.getByTestId('bn-step-13').waitFor();
  await page.getByTestId('gamma-0').fill('2');
  await page.getByTestId('gamma-0').dispatchEvent('change');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('gamma') === '2,1,1');
  // The ratings head: the learned gamma and beta bring the error down.
  const mse = async () => Number((await text(page, 'ratings-mse')).match(/error against the ratings (\d+\.\d+)/)[1]);
  const before = await mse();
  await page.getByTestId('learn-ratings').click();
  await page.waitForFunction((b) => Number(document.querySelector('[data-testid="ratings-mse"]').textContent.match(/ratings (\d+\.\d+)/)[1]) < b / 5, before);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'batchnorm.png'), fullPage: true });
  await close();
  return problems;
});

test('/tabular trains the Rossmann model in the page: validation RMSPE falls while the page keeps answering', async () => {
  const { page, problems, close } = await open('/tabular?epochs=3');
  await page.getByTestId('learn-model').waitFor();
  assert((await text(page, 'learn-model')).includes('(emb_drop): Dropout(p=0.04'), 'learn.model is not printed');
  assert((await text(page, 'learn-summary')).includes('Total params'), 'learn.summary() is not shown');
  // The data preparation is shown: the date's parts, a row through the procs with FillMissing's gap.
  assert((await text(page, 'table-text')).includes('to 2015-07-31'), 'the table does not end where the real data ends');
  assert((await text(page, 'datepart-text')).includes('Is_month_end'), 'add_datepart is not explained');
  assert((await text(page, 'procs-row')).includes('CompetitionDistance_na'), 'FillMissing\'s _na column is not shown');
  assert((await text(page, 'lesson-calls')).includes('fit_one_cycle(5, 1e-3, wd=0.2)'), 'the lesson\'s calls are not named');
  const main = page.locator('section.train');
  await page.waitForFunction(() => !document.querySelector('section.train [data-testid="train-start"]')?.disabled);
  await main.getByTestId('train-start').click();
  await page.waitForFunction(() => /Step ([3-9]|\d\d+) of/.test(document.querySelector('section.train [data-testid="train-status"]')?.textContent ?? ''));
  // The page answers while it trains: browsing the table moves at once.
  await page.getByTestId('rows-next').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="rows-shown"]')?.textContent.startsWith('rows 11 to 20'), null, { timeout: 5_000 });
  await main.getByText('Trained.').waitFor({ timeout: 600_000 });
  const rmspe = main.locator('[data-testid="metric-plot"] polyline[data-series="rmspe"]');
  assert(Number(await rmspe.getAttribute('data-count')) === 3, 'one validation RMSPE per epoch');
  const [first, last] = [Number(await rmspe.getAttribute('data-first')), Number(await rmspe.getAttribute('data-last'))];
  assert(last < first, `validation RMSPE went from ${first} to ${last}`);
  assert((await text(page, 'runs')).includes("the lesson's choice"), 'the finished run is not listed');
  await page.getByTestId('effects').waitFor();
  assert((await page.locator('[data-testid="effects"] tbody tr').count()) === 7, 'seven days of the week compared');
  // The embedding-dropout comparison, one epoch a run: six runs, then the verdict.
  await page.getByTestId('epochs').selectOption('1');
  const comparison = page.locator('section.emb-drop');
  await comparison.getByTestId('train-start').click();
  await comparison.getByText('Trained.').waitFor({ timeout: 600_000 });
  assert((await page.locator('[data-testid="emb-drop-runs"] tbody tr').count()) === 6, 'three seeds of each setting');
  assert((await text(page, 'emb-drop-verdict')).includes('without embedding dropout'), 'the comparison says nothing');
  // Day of week as a number: it leaves the embeddings.
  await page.getByTestId('role-DayOfWeek').selectOption('continuous');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('cont')?.includes('DayOfWeek'));
  assert(!(await text(page, 'embedding-sizes')).includes('DayOfWeek'), 'a continuous column still has an embedding');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'tabular.png'), fullPage: true });
  await close();
  return problems;
});

/** Waits until canvas `id` is drawn (it carries its image's sum); returns its RGBA bytes and size. */
async function drawnCanvas(page, id) {
  await page.waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.dataset.sum !== undefined, id);
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    return { width: c.width, height: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
  }, id);
}

/** The distinct RGB colours of the `side` by `side` square at a canvas's top-left corner. */
function cornerColours({ width, data }, side) {
  const colours = new Set();
  for (let y = 0; y < side; y += 1) {
    for (let x = 0; x < side; x += 1) {
      const i = 4 * (y * width + x);
      colours.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
    }
  }
  return colours;
}

test('/augment: random draws on WebGPU match the CPU; reflection fills rotated corners with the photo, zeros with black', async () => {
  const query = '/augment?angle=30&seed=5&pick=3&y=40&x=50';
  const gpu = await open(query);
  const draws = [];
  for (const k of [0, 1, 2]) draws.push(await drawnCanvas(gpu.page, `draw-canvas-${k}`));
  assert((await text(gpu.page, 'grid-device')).startsWith('Warped on WebGPU'), `the grid says "${await text(gpu.page, 'grid-device')}"`);
  assert(draws[0].data.some((v, i) => v !== draws[1].data[i]), 'two draws are the same image');
  // The padding modes on the photo turned by 30 degrees: black corners with zeros, the photo's own colours with reflection.
  const zeros = cornerColours(await drawnCanvas(gpu.page, 'fill-zeros'), 6);
  const reflection = cornerColours(await drawnCanvas(gpu.page, 'fill-reflection'), 6);
  assert(zeros.size === 1 && zeros.has('0,0,0'), `the zeros corner has ${[...zeros]}`);
  assert(reflection.size > 4, `the reflection corner is nearly one colour: ${[...reflection]}`);
  // The picked draw: its taps add up, and the matrix is shown.
  assert((await text(gpu.page, 'taps')).includes(' = '), `the taps say "${await text(gpu.page, 'taps')}"`);
  assert(await gpu.page.locator('[data-testid="matrix"] td').count() === 9, 'the matrix has not 9 numbers');
  assert(await gpu.page.locator('[data-testid^="label-"]').count() >= 7, 'the label table is missing rows');
  await drawnCanvas(gpu.page, 'six');
  // Picking another draw writes it to the link and shows it closely.
  await gpu.page.getByTestId('draw-7').click();
  await gpu.page.waitForFunction(() => new URL(location.href).searchParams.get('pick') === '7');
  await gpu.page.waitForFunction(() => document.querySelector('[data-testid="picked-canvas"]')?.dataset.sum === document.querySelector('[data-testid="draw-canvas-7"]')?.dataset.sum);
  // The notebook's settings in one click; every draw then moves.
  await gpu.page.getByTestId('preset-notebook').click();
  await gpu.page.waitForFunction(() => new URL(location.href).searchParams.get('rotate') === '20');
  // The comparison starts, and stops when asked.
  await gpu.page.getByTestId('train-start').click();
  await gpu.page.waitForFunction(() => Number(document.querySelector('[data-testid="train-progress"]')?.value) >= 3);
  await gpu.page.getByTestId('train-stop').click();
  await gpu.page.getByTestId('train-status').getByText('Stopped after step').waitFor();
  if (SHOTS) await gpu.page.screenshot({ path: join(SHOTS, 'augment.png'), fullPage: true });
  await gpu.close();
  // The same draws on the CPU: the same pixels, give or take a level of rounding.
  const cpu = await open(query, { webgpu: false });
  const first = await drawnCanvas(cpu.page, 'draw-canvas-0');
  const worst = first.data.reduce((m, v, i) => Math.max(m, Math.abs(v - draws[0].data[i])), 0);
  assert(worst <= 1, `the CPU's draw differs from WebGPU's by ${worst} levels`);
  await cpu.close();
  return [...gpu.problems, ...cpu.problems];
});

test('/heatmap: the hook, the channel mean and Grad-CAM step by step, a cell down to its channels, and where the maps peak', async () => {
  const { page, problems, close } = await open('/heatmap?image=3&stage=1');
  await page.getByTestId('prediction').getByText('the model says').waitFor();
  assert((await text(page, 'acts-shape')) === '[1, 128, 8, 8]', `the hooked output is ${await text(page, 'acts-shape')}`);
  await drawnCanvas(page, 'channel-0');
  // Step 2: the mean map; a cell's sentence adds up its 128 channels.
  await page.getByTestId('stage-next').click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('stage') === '2');
  await page.getByTestId('mean-map-2-1').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="cell-sum"]')?.textContent.includes('Cell (2, 1)'));
  const sentence = await text(page, 'cell-sum');
  const [sum, mean] = [...sentence.matchAll(/(-?\d+\.\d{4})/g)].map((m) => Number(m[1]));
  assert(Math.abs(sum / 128 - mean) < 1e-3, `the cell's sum ${sum} over 128 is not its mean ${mean}: "${sentence}"`);
  assert(Math.abs(Number(await text(page, 'mean-map-2-1')) - mean) < 1e-3, 'the grid and the sentence disagree');
  // Steps 3 and 4: the overlays are drawn; Grad-CAM for a chosen class changes the map.
  await page.getByTestId('stage-4').click();
  const before = await drawnCanvas(page, 'cam-overlay');
  await drawnCanvas(page, 'mean-overlay');
  const predicted = (await text(page, 'prediction')).match(/the model says (\w+)/)[1];
  const prev = await attr(page, 'cam-overlay', 'data-sum');
  await page.getByTestId('class').selectOption(predicted === 'circle' ? 'square' : 'circle');
  await page.waitForFunction((prev) => {
    const sum = document.querySelector('[data-testid="cam-overlay"]')?.dataset.sum;
    return sum !== undefined && sum !== prev;
  }, prev);
  assert(before.data.length > 0, 'no Grad-CAM overlay');
  // Where the maps peak, over all 100 images.
  await page.getByTestId('measure-peaks').click();
  await page.getByTestId('peaks').getByText('Over the 100 images').waitFor({ timeout: 300_000 });
  const peaks = await text(page, 'peaks');
  const [meanPct, camPct, chancePct] = [...peaks.matchAll(/\((\d+)%\)|inside the shape (\d+)% of the time/g)].map((m) => Number(m[1] ?? m[2]));
  console.log(`    /heatmap peaks: channel mean ${meanPct}%, Grad-CAM ${camPct}%, chance ${chancePct}%`);
  assert(camPct >= 80 && meanPct >= 80, `the maps peak inside the shape for fewer than 80% of the images: "${peaks}"`);
  assert(chancePct < 40, `a random pixel is inside the shape too often for the test to mean anything: "${peaks}"`);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'heatmap.png'), fullPage: true });
  // The learner's own image stands in for the shapes, squeezed to 32x32.
  await page.getByTestId('own-image').setInputFiles(join(process.cwd(), 'public/images/128/coffee_small.png'));
  await page.getByTestId('prediction').getByText('Your image, squeezed to 32x32').waitFor();
  await page.getByTestId('back-to-shapes').click();
  await page.getByTestId('prediction').getByText(/^A (circle|square|triangle|cross)/).waitFor();
  // A drawing: a cross drawn with the mouse.
  await page.locator('.sketch summary').click();
  const box = await page.getByTestId('sketch').boundingBox();
  const stroke = async (from, to) => {
    await page.mouse.move(box.x + from[0] * box.width, box.y + from[1] * box.height);
    await page.mouse.down();
    for (let t = 0; t <= 1; t += 0.1) await page.mouse.move(box.x + (from[0] + t * (to[0] - from[0])) * box.width, box.y + (from[1] + t * (to[1] - from[1])) * box.height);
    await page.mouse.up();
  };
  await stroke([0.5, 0.2], [0.5, 0.8]);
  await stroke([0.2, 0.5], [0.8, 0.5]);
  await page.getByTestId('prediction').getByText('Your drawing').waitFor();
  await close();
  return problems;
});

test('/heatmap and /pooling use a shapes model trained on /train, and say so', async () => {
  const { page, problems, close } = await open('/train?task=shapes&epochs=1');
  await trainHere(page);
  await page.goto(BASE + '/heatmap?stage=2');
  await page.getByTestId('model-source').getByText('yours, trained on /train').waitFor();
  await page.getByTestId('prediction').getByText('the model says').waitFor();
  assert((await text(page, 'acts-shape')) === '[1, 128, 4, 4]', `your model's hooked output is ${await text(page, 'acts-shape')}`);
  await page.getByTestId('use-yours').uncheck();
  await page.getByTestId('model-source').getByText('the built-in shapes CNN').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="acts-shape"]')?.textContent === '[1, 128, 8, 8]');
  // /pooling's head shows the same model until a run there starts afresh.
  await page.goto(BASE + '/pooling');
  await page.getByTestId('weights-state').getByText('your model, trained on /train').waitFor();
  await page.getByTestId('dot-product').waitFor();
  await close();
  return problems;
});

/** Trains /train's model on the page's device choice `device` and waits until it is evaluated; returns the
 * validation accuracy the runner and the confusion matrix report. */
async function trainHere(page, device) {
  if (device) await page.getByTestId('train-device').selectOption(device);
  await page.getByTestId('train-start').click();
  await page.getByText('Trained.').waitFor({ timeout: 600_000 });
  // The run's own model, evaluated (not one kept or imported before it).
  await page.getByTestId('trained-model').getByText('trained here').waitFor({ timeout: 120_000 });
  await page.getByTestId('confusion').waitFor();
  const runner = Number((await text(page, 'train-metric')).match(/accuracy ([\d.]+)/)[1]);
  const matrix = Number((await page.getByTestId('confusion').locator('caption').innerText()).match(/accuracy ([\d.]+)/)[1]);
  return { runner, matrix, where: await text(page, 'train-where') };
}

test('/train: the digits CNN trains to 0.9 on the CPU and on WebGPU, is kept across a reload, and exports and imports', async () => {
  const { page, problems, close } = await open('/train?task=digits&epochs=3');
  await page.getByTestId('summary').waitFor();
  assert(await text(page, 'total-params') !== '0', 'the summary has no parameters');
  // Editing a block updates the summary; a misfit is explained in words.
  await page.getByTestId('block-0-kernel').fill('15');
  await page.getByTestId('block-0-kernel').dispatchEvent('change');
  await page.getByTestId('arch-error').getByText('does not fit').waitFor();
  await page.getByTestId('default-arch').click();
  await page.getByTestId('summary').waitFor();
  const cpu = await trainHere(page);
  assert(cpu.runner >= 0.9 && Math.abs(cpu.matrix - cpu.runner) < 1e-3, `CPU: the runner says ${cpu.runner}, the matrix ${cpu.matrix}`);
  assert(cpu.where.includes('in a Web Worker'), `the CPU run says "${cpu.where}"`);
  assert(await page.locator('[data-testid="predictions"] figure').count() === 12, 'not 12 predictions');
  assert(Number(await page.locator('[data-testid="loss-plot"] polyline[data-series="training loss"]').getAttribute('data-count')) >= 10, 'too few losses plotted');
  // A reload keeps the model: the page evaluates it again on the same images.
  await page.reload();
  await page.getByTestId('trained-model').getByText('kept in this browser').waitFor();
  await page.getByTestId('confusion').waitFor();
  const kept = await page.getByTestId('confusion').innerText();
  assert(kept.includes(cpu.matrix.toFixed(4)), `after the reload the matrix says "${kept.split('\n')[0]}"`);
  // Export, then import the file again: the same predictions.
  const folder = mkdtempSync(join(tmpdir(), 'export-'));
  const downloads = [];
  page.on('download', (d) => downloads.push(d));
  await page.getByTestId('export').click();
  await page.waitForFunction(() => true);
  for (let i = 0; i < 50 && downloads.length < 2; i += 1) await page.waitForTimeout(100);
  assert(downloads.length === 2, `${downloads.length} files were offered`);
  const names = downloads.map((d) => d.suggestedFilename()).sort();
  assert(names.join(',') === 'model.py,model.safetensors', `the files are ${names}`);
  const weights = join(folder, 'model.safetensors');
  await downloads.find((d) => d.suggestedFilename() === 'model.safetensors').saveAs(weights);
  await page.getByTestId('import').setInputFiles(weights);
  await page.getByTestId('trained-model').getByText('imported').waitFor();
  await page.getByTestId('confusion').waitFor();
  assert((await page.getByTestId('confusion').innerText()) === kept, 'the imported model predicts otherwise');
  // The same on WebGPU.
  const gpu = await trainHere(page, 'gpu');
  assert(gpu.runner >= 0.9, `WebGPU: the validation accuracy is ${gpu.runner}`);
  assert(gpu.where.includes('on the GPU'), `the WebGPU run says "${gpu.where}"`);
  console.log(`    /train digits, 3 epochs: CPU ${cpu.runner}, WebGPU ${gpu.runner}`);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'train.png'), fullPage: true });
  await close();
  return problems;
});

test('/train: two classes of the test\'s own image files train and predict', async () => {
  const { page, problems, close } = await open('/train?task=files&epochs=15&bs=16');
  // The test's own images: reddish and bluish squares with noise, made as PNG files.
  const pngs = await page.evaluate(() => {
    const files = [];
    for (const [r, b] of [[220, 30], [30, 220]]) {
      const set = [];
      for (let k = 0; k < 6; k += 1) {
        const c = document.createElement('canvas');
        c.width = 40; c.height = 40;
        const ctx = c.getContext('2d');
        for (let y = 0; y < 40; y += 4) {
          for (let x = 0; x < 40; x += 4) {
            const n = (x * 7 + y * 13 + k * 31) % 40;
            ctx.fillStyle = `rgb(${r + n - 20}, ${80 + n}, ${b + n - 20})`;
            ctx.fillRect(x, y, 4, 4);
          }
        }
        set.push(c.toDataURL('image/png').split(',')[1]);
      }
      files.push(set);
    }
    return files;
  });
  const folder = mkdtempSync(join(tmpdir(), 'own-'));
  for (const [k, set] of pngs.entries()) {
    const paths = set.map((b64, i) => {
      const path = join(folder, `class${k}-${i}.png`);
      writeFileSync(path, Buffer.from(b64, 'base64'));
      return path;
    });
    await page.getByTestId(`class-files-${k}`).setInputFiles(paths);
    await page.waitForFunction((k) => document.querySelector(`[data-testid="class-count-${k}"]`)?.textContent === '6 images', k);
  }
  await page.getByTestId('class-name-0').fill('red');
  await page.getByTestId('class-name-0').dispatchEvent('change');
  await page.getByTestId('data-status').getByText('10 training and 2 validation images of 2 classes: red, dogs.').waitFor();
  await trainHere(page);
  const shown = await page.getByTestId('predictions').innerText();
  assert(/red|dogs/.test(shown) && await page.locator('[data-testid="predictions"] figure').count() === 2, `the predictions are "${shown}"`);
  await close();
  return problems;
});

test('bad files: a text file, an empty file and a 10,000-pixel image as a photo, and a text file among a class\'s images', async () => {
  const { page, problems, close } = await open('/kernels');
  const before = await nextResult(page);
  const file = page.getByTestId('image-file');
  await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
  await says(page, 'photo-notice', badInput(60));
  await file.setInputFiles({ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) });
  await says(page, 'photo-notice', badInput(61));
  // The sample photo stayed, and its result with it.
  assert(!(await text(page, 'photo-select')).includes('Your image'), 'a refused file replaced the photo');
  assert(await attr(page, 'output-canvas', 'data-sum') === before, 'a refused file changed the result');
  await file.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: grayPng(10_000) });
  await says(page, 'photo-notice', badInput(62));
  await nextResult(page, before);
  assert(await page.getByTestId('output-canvas').evaluate((c) => c.width === 256 && c.height === 256), 'the large image is not 256 x 256');
  await close();
  // /train: one text file among a class's images is left out, the others added.
  const train = await open('/train?task=files');
  const folder = mkdtempSync(join(tmpdir(), 'bad-'));
  const good = join(folder, 'good.png');
  writeFileSync(good, grayPng(40));
  const bad = join(folder, 'notes.txt');
  writeFileSync(bad, 'not an image');
  await train.page.getByTestId('class-files-0').setInputFiles([good, bad]);
  await says(train.page, 'own-images-error', badInput(63));
  await says(train.page, 'class-count-0', '1 image');
  await train.close();
  return [...problems, ...train.problems];
});

test('/train: a corrupt kept model, a full storage and a refused one are said, and nothing else is lost', async () => {
  // What the browser keeps under the model's key is not a model.
  const corrupt = await open('/train?task=digits', { init: () => localStorage.setItem('lesson6.train.model', '%%% not a model %%%') });
  await says(corrupt.page, 'train-message', badInput(64));
  await corrupt.close();
  const model = join(process.cwd(), 'public/data/shapes_cnn.safetensors');
  const cases = [
    [badInput(65), () => { Storage.prototype.setItem = () => { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); }; }],
    [badInput(66), () => Object.defineProperty(window, 'localStorage', { get() { throw new DOMException('Access is denied.', 'SecurityError'); } })],
  ];
  const problems = [...corrupt.problems];
  for (const [message, init] of cases) {
    const { page, problems: found, close } = await open('/train?task=shapes', { init });
    await page.getByTestId('import').setInputFiles(model);
    await says(page, 'train-message', message);
    // The imported model is in use all the same.
    await page.getByTestId('trained-model').getByText('imported').waitFor();
    await close();
    problems.push(...found);
  }
  return problems;
});

test('/train on WebGPU: a GPU lost mid-run is replaced, and training goes on from the last epoch to 0.9', async () => {
  // A handle on every WebGPU device the page opens, to lose one as a driver reset would.
  const init = () => {
    window.gpuDevices = [];
    const request = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await request.apply(this, args);
      window.gpuDevices.push(device);
      return device;
    };
  };
  const { page, problems, close } = await open('/train?task=digits&epochs=3', { init });
  await page.getByTestId('summary').waitFor();
  await page.getByTestId('train-device').selectOption('gpu');
  await page.getByTestId('train-start').click();
  // After the first epoch's evaluation, every device the page has is destroyed.
  await page.waitForFunction(() => /accuracy/.test(document.querySelector('[data-testid="train-metric"]')?.textContent ?? ''), null, { timeout: 600_000 });
  const lost = await page.evaluate(() => { window.gpuDevices.forEach((d) => d.destroy()); return window.gpuDevices.length; });
  assert(lost >= 1, 'the page opened no WebGPU device');
  await says(page, 'train-recovered', badInput(68));
  const said = await text(page, 'train-recovered');
  assert(/from the end of epoch [12] \(its last checkpoint\)/.test(said), `the recovery says "${said}"`);
  await page.getByText('Trained.').waitFor({ timeout: 600_000 });
  await page.getByTestId('trained-model').getByText('trained here').waitFor({ timeout: 120_000 });
  const accuracy = Number((await text(page, 'train-metric')).match(/accuracy ([\d.]+)/)[1]);
  assert(accuracy >= 0.9, `after the lost GPU the run reached ${accuracy}`);
  assert(await page.evaluate(() => window.gpuDevices.length) > lost, 'no new device was opened');
  console.log(`    /train, GPU lost after epoch 1: "${said}" Validation accuracy at the end: ${accuracy}`);
  await close();
  // Chromium reports the destroyed device's lost work on the console: that is the test's own doing.
  return problems.filter((p) => !/destroyed|lost|Instance dropped|Device was/i.test(p));
});

test('/train: classes filled from the webcam train and predict, and the webcam stops', async () => {
  const { page, problems, close } = await open('/train?task=files&epochs=10&bs=16', { camera: true });
  await page.getByTestId('start-camera').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="camera"]')?.videoWidth > 0);
  for (const k of [0, 1]) {
    for (let i = 0; i < 3; i += 1) await page.getByTestId(`capture-${k}`).click();
    await page.waitForFunction((k) => document.querySelector(`[data-testid="class-count-${k}"]`)?.textContent === '3 images', k);
  }
  await page.getByTestId('data-status').getByText('4 training and 2 validation images of 2 classes').waitFor();
  await trainHere(page);
  assert(await page.locator('[data-testid="predictions"] figure').count() === 2, 'no predictions for the webcam classes');
  await page.getByTestId('stop-camera').click();
  await page.getByTestId('start-camera').waitFor({ state: 'visible' });
  await close();
  return problems;
});

test('every lesson the home page lists renders without a problem', async () => {
  const { page, problems, close } = await open('/');
  await page.locator('main a[href="/tabular"]').waitFor();
  const paths = await page.locator('main a[href^="/"]').evaluateAll((as) => [...new Set(as.map((a) => new URL(a.href).pathname))]);
  assert(paths.includes('/batchnorm') && paths.includes('/tabular'), `the home page links ${paths}`);
  await close();
  const all = [];
  for (const path of paths) {
    const opened = await open(path);
    await opened.page.locator('h1').waitFor();
    await opened.page.waitForTimeout(500);
    all.push(...opened.problems.map((p) => `${path}: ${p}`));
    await opened.close();
  }
  return [...problems, ...all];
});

test('offline: after one visit every route works without the network, a deep link with its settings too', async () => {
  const { page, problems, context, close } = await open('/', { serviceWorkers: true });
  await page.locator('main a[href="/tabular"]').waitFor();
  const paths = await page.locator('main a[href^="/"]').evaluateAll((as) => [...new Set(as.map((a) => new URL(a.href).pathname))]);
  await serviceWorkerReady(page);
  await context.setOffline(true);
  for (const path of paths) {
    await page.goto(BASE + path);
    await page.locator('main h1').waitFor();
  }
  // The lessons' data and model come from the cache: the heatmap's model predicts, /train's digits are there.
  await page.goto(`${BASE}/heatmap`);
  await page.getByTestId('prediction').getByText('the model says').waitFor();
  await page.goto(`${BASE}/train?task=digits`);
  await page.getByTestId('summary').waitFor();
  // A deep link with its settings.
  await page.goto(`${BASE}/pooling?pool=avg&k=3`);
  await page.getByTestId('pool-output-shape').waitFor();
  assert(await page.getByTestId('pool-avg').isChecked(), 'the deep link\'s average pooling was not restored offline');
  await context.setOffline(false);
  await close();
  return problems;
});

test('update: a new build is offered, and accepting it keeps the page\'s settings and what the browser stored', async () => {
  // A copy of the site, so that the test can serve "a new build" of it: the same files with a new version.
  const dir = join(process.cwd(), 'target/e2e/update-site');
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(process.cwd(), 'dist'), dir, { recursive: true });
  const copy = await serveCopy(dir);
  const { page, problems, close } = await open('/kernels?kernel=identity&y=50&x=50', { serviceWorkers: true, base: copy.base });
  await nextResult(page);
  await serviceWorkerReady(page);
  await page.evaluate(() => localStorage.setItem('e2e-kept', 'still here'));
  assert(await page.getByTestId('update-banner').count() === 0, 'an update is offered before there is one');
  const sw = join(dir, 'sw.js');
  writeFileSync(sw, readFileSync(sw, 'utf8').replace(/const VERSION = '[^']*'/, "const VERSION = 'next-build'"));
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  await page.getByTestId('update-banner').waitFor();
  await Promise.all([page.waitForEvent('load'), page.getByTestId('update-reload').click()]);
  await nextResult(page);
  assert(await page.getByTestId('preset-identity').getAttribute('aria-pressed') === 'true', 'the settings were lost');
  assert(await page.evaluate(() => localStorage.getItem('e2e-kept')) === 'still here', 'the stored data was lost');
  const caches = await page.evaluate(() => caches.keys());
  assert(caches.length === 1 && caches[0] === 'sandbox-next-build', `the caches after the update: ${caches}`);
  await close();
  copy.close();
  return problems;
});

test('on a 390-pixel phone screen the header fits, its menu opens a lesson, and no page scrolls sideways', async () => {
  const { page, problems, close } = await open('/');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('main a[href="/tabular"]').waitFor();
  const paths = await page.locator('main a[href^="/"]').evaluateAll((as) => [...new Set(as.map((a) => new URL(a.href).pathname))]);
  const wide = [];
  for (const path of ['/', ...paths]) {
    await page.goto(BASE + path);
    await page.locator('main h1').waitFor();
    await page.waitForTimeout(300);
    const { scroll, header } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      header: document.querySelector('header.site').getBoundingClientRect().height,
    }));
    if (scroll > 390) wide.push(`${path} is ${scroll} px wide`);
    if (header > 100) wide.push(`${path}: the header is ${header} px tall`);
  }
  assert(wide.length === 0, wide.join('; '));
  // The lessons are behind the menu button, which says whether it is open; following a link closes it.
  const nav = page.getByRole('navigation', { name: 'Lessons' });
  assert(!await nav.isVisible(), 'the lesson links show before the menu is opened');
  await page.getByTestId('menu-toggle').click();
  assert(await page.getByTestId('menu-toggle').getAttribute('aria-expanded') === 'true', 'the menu does not say it is open');
  await nav.getByRole('link', { name: 'Dropout' }).click();
  await page.waitForURL(/\/dropout(\?|$)/);
  await page.locator('main h1').waitFor();
  const closed = await nav.waitFor({ state: 'hidden', timeout: 5_000 }).then(() => true, () => false);
  assert(closed, 'the menu stays open after a lesson was chosen');
  await close();
  return problems;
});

test('the home page is a path through the lessons, says what runs where, and the about page says where data goes', async () => {
  const { page, problems, close } = await open('/');
  const items = page.getByTestId('lesson-path').locator('li');
  await items.first().waitFor();
  assert(await items.count() === 10, `the path has ${await items.count()} lessons`);
  assert((await items.first().innerText()).includes('What does a convolution compute for one pixel?'), 'the first lesson\'s question is missing');
  await page.getByTestId('runs-on').getByText(/compute on WebGPU: WebGPU: /).waitFor();
  assert(await page.locator('table.limits td').count() === 5, 'the adapter\'s limits are not shown');
  assert((await text(page, 'runs-build')).includes('relaxed-SIMD build'), 'the build loaded is not named');
  await close();
  const cpu = await open('/', { webgpu: false, relaxedSimd: false });
  await cpu.page.getByTestId('runs-on').getByText('compute on the CPU').waitFor();
  assert((await text(cpu.page, 'runs-build')).includes('baseline build'), 'the baseline build is not named');
  await cpu.page.getByRole('link', { name: 'about this site' }).click();
  await cpu.page.getByTestId('data-licences').getByText('CC BY 4.0').waitFor();
  assert((await text(cpu.page, 'photo-licences')).includes('chelsea_small.png'), 'the photos\' licences are missing');
  await cpu.close();
  return [...problems, ...cpu.problems];
});

test('accessibility: axe-core finds no serious or critical violation on any route, on a wide and a phone screen', async () => {
  // axe-core from npm (pinned by xtask's setup), run in the page through the debugger, which the page's policy
  // does not govern (an injected script tag would be refused).
  const axe = readFileSync(join(process.cwd(), '.tools/node_modules/axe-core/axe.min.js'), 'utf8');
  const { page, problems, close } = await open('/');
  await page.locator('main a[href="/tabular"]').waitFor();
  const paths = await page.locator('main a[href^="/"]').evaluateAll((as) => [...new Set(as.map((a) => new URL(a.href).pathname))]);
  const found = [];
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    for (const path of ['/', ...paths, '/no-such-lesson']) {
      await page.goto(BASE + path);
      await page.locator('main h1').waitFor();
      await page.waitForTimeout(500);
      await page.evaluate(axe);
      const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`));
      found.push(...violations.map((v) => `${path} at ${width} px: ${v}`));
    }
  }
  assert(found.length === 0, found.join('\n'));
  await close();
  return problems;
});

test('with reduced motion asked for, play is off and stepping is announced to screen readers', async () => {
  const { page, problems, close } = await open('/kernels?y=0&x=0', { reducedMotion: 'reduce' });
  await nextResult(page);
  assert(await page.getByTestId('play').isDisabled(), 'play can start although the system asks for reduced motion');
  await page.getByTestId('reduced-motion').waitFor();
  await page.getByTestId('step').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="step-announce"]')?.textContent.includes('row 0, column 1'));
  assert(await page.getByTestId('step-announce').getAttribute('aria-live') === 'polite', 'the step is not announced');
  await close();
  return problems;
});

test('a bug shows a report at the top of the page, and its reload keeps the settings', async () => {
  const { page, problems, close } = await open('/pooling?pool=avg&k=3');
  await page.getByTestId('pool-avg').waitFor();
  // An error nothing catches, as a panic's trap in the wasm reaches the page.
  await page.evaluate(() => setTimeout(() => { throw new Error('a fault the test made'); }));
  await page.getByTestId('fault-report').waitFor();
  const report = await text(page, 'fault-report');
  assert(report.includes('Something went wrong') && report.includes('reloading keeps both'), report);
  assert(await page.getByTestId('fault-report').getAttribute('role') === 'alert', 'the report is not announced');
  assert((await page.locator('#fault-report pre').textContent()).includes('a fault the test made'), 'the report lacks the error');
  await Promise.all([page.waitForEvent('load'), page.getByTestId('fault-reload').click()]);
  assert(page.url().includes('pool=avg'), `the reload went to ${page.url()}`);
  await page.getByTestId('pool-avg').waitFor();
  assert(await page.getByTestId('fault-report').count() === 0, 'the report survived the reload');
  assert(await page.getByTestId('pool-avg').isChecked(), 'the reload lost the setting: average pooling is not chosen');
  await close();
  // The one problem expected is the test's own error.
  return problems.filter((p) => !p.includes('a fault the test made'));
});

test('/speed offers the speed test without running it', async () => {
  const { page, problems, close } = await open('/speed');
  await page.getByTestId('run-speed-test').waitFor();
  assert(await page.getByTestId('bench-json').getAttribute('data-state') === 'idle', 'the speed test started by itself');
  await close();
  return problems;
});

if (SHOTS) mkdirSync(SHOTS, { recursive: true });
let passed = 0;
let failed = 0;
// E2E_ONLY=pattern runs only the tests whose name matches it (while working on one lesson).
const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null;
for (const { name, fn } of tests.filter((t) => !only || only.test(t.name))) {
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
