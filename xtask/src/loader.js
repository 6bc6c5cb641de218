// The site's loader (written beside the builds as dist/loader-<hash>.js by `cargo xtask dist`; the page loads it as
// a file, since its Content Security Policy allows no inline script). There are two builds of the app: one whose
// matrix products use relaxed SIMD's fused multiply-add, and the baseline. A module holding an instruction the
// browser lacks does not load at all, so the loader asks the browser to validate a tiny module that uses
// `f32x4.relaxed_madd` and loads the build it can run. The wasm is fetched while the script loads.
const RELAXED_MADD = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, // the header
  1, 5, 1, 96, 0, 1, 123, // one type: () -> v128
  3, 2, 1, 0, // one function of that type
  10, 61, 1, 59, 0, // its code: 59 bytes, no locals
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
  253, 133, 2, // f32x4.relaxed_madd
  11, // end
]);
// No bug may leave a learner with a dead page and no word: any error nothing caught (a panic in the app traps the
// wasm, which reaches here as one; the app's panic hook first hands its message to window.sandboxFault) puts a
// report at the top of the page with a way back. The settings are in the address and the trained models in the
// browser's storage, so reloading the same address keeps both.
const fault = (detail) => {
  if (document.getElementById('fault-report')) return;
  const element = (tag, text, props = {}) => Object.assign(document.createElement(tag), { textContent: text }, props);
  const box = element('section', '', { id: 'fault-report', role: 'alert' });
  box.dataset.testid = 'fault-report';
  // A button, not a link: the app's router would take a link to the same address as a move within the page.
  const reload = element('button', 'Reload the page', { type: 'button', onclick: () => location.reload() });
  reload.dataset.testid = 'fault-reload';
  const details = element('details', '');
  details.append(element('summary', 'What happened (for a bug report)'), element('pre', String(detail)));
  box.append(
    element('h2', 'Something went wrong inside the sandbox'),
    element('p', 'This is a bug in the page, not something you did, and the page may stop answering. Your settings ' +
      'are in the address and your trained models are kept by this browser: reloading keeps both (images you added ' +
      'from your files or webcam are not kept; add them again).'),
    reload, details);
  document.body.prepend(box);
};
window.sandboxFault = fault;
addEventListener('error', (e) => fault(e.error?.stack ?? e.message));
addEventListener('unhandledrejection', (e) => fault(e.reason?.stack ?? e.reason));

const build = WebAssembly.validate(RELAXED_MADD)
  ? { name: 'relaxed', script: 'RELAXED_JS', wasm: 'RELAXED_WASM' }
  : { name: 'baseline', script: 'BASELINE_JS', wasm: 'BASELINE_WASM' };
// The builds sit beside this loader, wherever the site is served from: the root of a host or a sub-path.
const here = (file) => new URL(file, import.meta.url).href;
const response = fetch(here(build.wasm));
// The training worker runs this same script with the page's compiled module (app/src/worker.rs).
window.appScript = here(build.script);
const bindings = await import(window.appScript);
const wasm = await bindings.default({ module_or_path: response });
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));

// The service worker (sw.js, written by `cargo xtask dist`) keeps this build and the site's files for offline use.
// When a new build's worker is installed and waiting, the page hears 'siteupdate' and may call window.siteUpdate()
// once the learner accepts: the new worker takes over and the page reloads (its settings are in the address, its
// trained models in the browser's storage). A browser without service workers simply has no offline copy.
if ('serviceWorker' in navigator) {
  let accepted = false;
  const offer = (registration) => {
    if (!registration.waiting || !navigator.serviceWorker.controller) return;
    window.siteUpdate = () => {
      accepted = true;
      registration.waiting?.postMessage('update');
    };
    dispatchEvent(new Event('siteupdate'));
  };
  navigator.serviceWorker.addEventListener('controllerchange', () => { if (accepted) location.reload(); });
  navigator.serviceWorker.register(here(`sw.js?build=${build.name}`)).then((registration) => {
    offer(registration);
    registration.addEventListener('updatefound', () => {
      const installing = registration.installing;
      installing?.addEventListener('statechange', () => { if (installing.state === 'installed') offer(registration); });
    });
    // A page left open for hours still hears of a new build.
    setInterval(() => registration.update().catch(() => {}), 3_600_000);
  }).catch(() => {});
}
