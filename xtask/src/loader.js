// The site's loader (written into dist/index.html by `cargo xtask dist`). There are two builds of the app: one
// whose matrix products use relaxed SIMD's fused multiply-add, and the baseline. A module holding an instruction
// the browser lacks does not load at all, so the loader asks the browser to validate a tiny module that uses
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
const build = WebAssembly.validate(RELAXED_MADD)
  ? { script: '/RELAXED_JS', wasm: '/RELAXED_WASM' }
  : { script: '/BASELINE_JS', wasm: '/BASELINE_WASM' };
const response = fetch(build.wasm);
// The training worker runs this same script with the page's compiled module (app/src/worker.rs).
window.appScript = build.script;
const bindings = await import(build.script);
const wasm = await bindings.default({ module_or_path: response });
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent('TrunkApplicationStarted', { detail: { wasm } }));
