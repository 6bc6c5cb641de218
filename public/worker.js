// The training worker (app/src/worker.rs): the page's own app, started off the page's thread. The page sends the
// script its loader chose and its compiled wasm module; the app's main, finding no window here, answers the
// page's training jobs.
self.onmessage = async (event) => {
  self.onmessage = null;
  const { script, module } = event.data;
  try {
    const bindings = await import(script);
    await bindings.default({ module_or_path: module });
  } catch (e) {
    self.postMessage(['failed', `the training worker could not start the app (${e})`]);
  }
};
