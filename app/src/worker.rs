//! Training off the page's thread. CPU training in the page, even in chunks between frames, kept the page busy
//! for up to half a second at a time on a 2-core machine; in a Web Worker it never touches the page's thread.
//!
//! The worker is this same app: `public/worker.js` imports the page's own script and instantiates the page's own
//! compiled wasm module (sent to it), and `main` ([`serve`]), finding no window, serves the page's jobs instead of
//! mounting the app. A job crosses as a [`Recipe`]: a safetensors file naming the lesson's builder in its metadata
//! with the builder's settings, and any images the worker cannot make itself (the learner's own) as tensors. The
//! worker rebuilds the same run (the same seeds, so the same numbers as on the page's thread), trains it, and
//! sends back, as it goes:
//!
//! ```text
//! ["ready"]                          once, when it can take a job
//! ["events", Float64Array]           progress, losses and epochs, 5 numbers each (see `pack`)
//! ["run_end", label, metric]         a run of a comparison ended
//! ["state", Uint8Array]              the model's weights (safetensors), at a pause, a stop, a failure and the end
//! ["paused"]                         it paused (after the weights)
//! ["ended", finished]                the run ended (`false`: stopped)
//! ["failed", message]                the run failed, in words
//! ```
//!
//! The page sends `["job", Uint8Array]` once, then `"pause"`, `"resume"` or `"stop"`.

use crate::timing::{sleep_ms, yield_to_browser};
use crate::widgets::training::{Chunks, Event, Job};
use engine::data::ImageSet;
use engine::safetensors::{Entry, File};
use engine::tensor::Tensor;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::str::FromStr;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// A job the worker can rebuild: its builder's name under [`JOB`] in the metadata, the builder's settings beside
/// it, and any images as tensors.
pub type Recipe = File;

/// The metadata key naming a recipe's builder.
pub const JOB: &str = "job";

/// A recipe for the builder `job` with `settings`.
pub fn recipe(job: &str, settings: &[(&str, String)]) -> Recipe {
    let mut metadata = vec![(JOB.to_string(), job.to_string())];
    metadata.extend(settings.iter().map(|(k, v)| (k.to_string(), v.clone())));
    File { entries: Vec::new(), metadata }
}

/// The setting `key` of a recipe, read as a `T`.
pub fn setting<T: FromStr>(recipe: &Recipe, key: &str) -> Result<T, String> {
    let raw = recipe.meta(key).ok_or_else(|| format!("the training job lacks its setting “{key}”"))?;
    raw.parse().map_err(|_| format!("the training job's setting “{key}” is “{raw}”, which cannot be read"))
}

/// Adds `set` to a recipe under `name` (its images, its labels as numbers, its class names one per line).
pub fn put_images(recipe: &mut Recipe, name: &str, set: &ImageSet) {
    let labels = Tensor::from_fn([set.labels.len()], |i| set.labels[i] as f32);
    recipe.entries.push(Entry { name: format!("{name}.images"), tensor: set.images.clone(), integer: false });
    recipe.entries.push(Entry { name: format!("{name}.labels"), tensor: labels, integer: false });
    recipe.metadata.push((format!("{name}.classes"), set.classes.join("\n")));
}

/// The set [`put_images`] added under `name`.
pub fn take_images(recipe: &Recipe, name: &str) -> Result<ImageSet, String> {
    let tensor = |part: &str| recipe.get(&format!("{name}.{part}")).map(|e| e.tensor.clone()).ok_or_else(|| format!("the training job lacks its {name} {part}"));
    let (images, labels) = (tensor("images")?, tensor("labels")?);
    let classes = recipe.meta(&format!("{name}.classes")).unwrap_or_default().split('\n').map(str::to_string).collect();
    Ok(ImageSet { images, labels: labels.data().iter().map(|&l| l as i64).collect(), classes })
}

/// What a [`Sequence`](crate::widgets::training::Sequence) built in the worker calls when one of its runs ends.
pub type RunEnd = Rc<dyn Fn(&str, f32)>;

/// Rebuilds the job `recipe` describes, on the CPU. Every lesson that trains names its jobs here.
async fn build(recipe: &Recipe, on_run_end: RunEnd) -> Result<Box<dyn Job>, String> {
    use crate::lessons::{augment, batchnorm, dropout, pooling, tabular, train};
    match recipe.meta(JOB).unwrap_or_default() {
        pooling::HEAD_JOB => Ok(pooling::head_job()),
        dropout::EFFECT_JOB => dropout::effect_job(recipe).await,
        batchnorm::NOISE_JOB => batchnorm::noise_job(recipe).await,
        train::JOB => train::job(recipe),
        augment::EFFECT_JOB => augment::effect_job(recipe, on_run_end),
        tabular::TRAIN_JOB => tabular::train_job(recipe),
        tabular::COMPARISON_JOB => tabular::comparison_job(recipe, on_run_end),
        other => Err(format!("the training worker knows no job “{other}”")),
    }
}

/// Packs events as 5 numbers each: `[0, step, total, _, _]` progress, `[1, step, loss, _, _]` a loss,
/// `[2, step, validation loss, metric, items/s]` an epoch.
fn pack(events: &[Event]) -> Vec<f64> {
    let mut out = Vec::with_capacity(events.len() * 5);
    for e in events {
        out.extend(match *e {
            Event::Progress(step, total) => [0.0, step as f64, total as f64, 0.0, 0.0],
            Event::Loss(step, loss) => [1.0, step as f64, loss as f64, 0.0, 0.0],
            Event::Epoch { step, valid_loss, metric, items_per_s } => [2.0, step as f64, valid_loss as f64, metric as f64, items_per_s],
        });
    }
    out
}

/// The events [`pack`] packed.
fn unpack(numbers: &[f64]) -> Vec<Event> {
    numbers
        .chunks_exact(5)
        .filter_map(|n| match n[0] as u32 {
            0 => Some(Event::Progress(n[1] as usize, n[2] as usize)),
            1 => Some(Event::Loss(n[1] as usize, n[2] as f32)),
            2 => Some(Event::Epoch { step: n[1] as usize, valid_loss: n[2] as f32, metric: n[3] as f32, items_per_s: n[4] }),
            _ => None,
        })
        .collect()
}

/// A model's weights as safetensors bytes, and back.
fn state_bytes(values: Vec<(String, Tensor)>) -> Vec<u8> {
    File { entries: values.into_iter().map(|(name, tensor)| Entry { name, tensor, integer: false }).collect(), metadata: Vec::new() }.to_bytes()
}

fn state_of(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, String> {
    Ok(File::from_bytes(bytes).map_err(|e| e.to_string())?.entries.into_iter().map(|e| (e.name, e.tensor)).collect())
}

// ---------------------------------------------------------------------------------------------------------------
// The page's side.

/// What the worker said, as the page reads it.
pub enum Message {
    /// It can take a job.
    Ready,
    /// Progress, losses and epochs.
    Events(Vec<Event>),
    /// A run of a comparison ended: its label and final metric.
    RunEnd(String, f32),
    /// The model's weights.
    State(Result<Vec<(String, Tensor)>, String>),
    /// It paused.
    Paused,
    /// The run ended: `true` when every step ran, `false` when stopped.
    Ended(bool),
    /// The run failed (or the worker did), in words.
    Failed(String),
}

/// A training worker the page started: one per run, ended when the run ends (or when this is dropped).
pub struct Remote {
    worker: web_sys::Worker,
    inbox: Rc<RefCell<VecDeque<Message>>>,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

impl Remote {
    /// Starts a worker running this app (the script the page's loader chose, `window.appScript`, and the page's
    /// compiled module), or says why none can start: the page then trains on its own thread.
    pub fn start() -> Result<Remote, String> {
        let window = web_sys::window().ok_or("no window")?;
        let script = js_sys::Reflect::get(&window, &"appScript".into()).ok().and_then(|s| s.as_string()).ok_or("the page's loader did not name its script")?;
        let options = web_sys::WorkerOptions::new();
        options.set_type(web_sys::WorkerType::Module);
        let worker = web_sys::Worker::new_with_options("worker.js", &options).map_err(|e| format!("{e:?}"))?;
        let inbox = Rc::new(RefCell::new(VecDeque::new()));
        let on_message = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                if let Some(m) = read_message(&event.data()) {
                    inbox.borrow_mut().push_back(m);
                }
            })
        };
        let on_error = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
                event.prevent_default();
                inbox.borrow_mut().push_back(Message::Failed(format!("the training worker stopped: {}", event.message())));
            })
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let start = js_sys::Object::new();
        js_sys::Reflect::set(&start, &"script".into(), &script.into()).map_err(|e| format!("{e:?}"))?;
        js_sys::Reflect::set(&start, &"module".into(), &wasm_bindgen::module()).map_err(|e| format!("{e:?}"))?;
        worker.post_message(&start).map_err(|e| format!("{e:?}"))?;
        Ok(Remote { worker, inbox, _on_message: on_message, _on_error: on_error })
    }

    /// Sends the job (once the worker is ready).
    pub fn send_job(&self, recipe: &Recipe) {
        let bytes = js_sys::Uint8Array::from(&recipe.to_bytes()[..]);
        let transfer = js_sys::Array::of1(&bytes.buffer());
        let _ = self.worker.post_message_with_transfer(&js_sys::Array::of2(&"job".into(), &bytes), &transfer);
    }

    /// Tells the worker to `"pause"`, `"resume"` or `"stop"`.
    pub fn tell(&self, what: &str) {
        let _ = self.worker.post_message(&what.into());
    }

    /// The first thing the worker said that the page has not taken yet.
    pub fn next(&self) -> Option<Message> {
        self.inbox.borrow_mut().pop_front()
    }

    /// Puts back a message the page could not take yet (first in the queue).
    pub fn put_back(&self, message: Message) {
        self.inbox.borrow_mut().push_front(message);
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn read_message(data: &JsValue) -> Option<Message> {
    let array: js_sys::Array = data.clone().dyn_into().ok()?;
    let number = |i: u32| array.get(i).as_f64().unwrap_or(f64::NAN);
    Some(match array.get(0).as_string()?.as_str() {
        "ready" => Message::Ready,
        "events" => Message::Events(unpack(&array.get(1).dyn_into::<js_sys::Float64Array>().ok()?.to_vec())),
        "run_end" => Message::RunEnd(array.get(1).as_string()?, number(2) as f32),
        "state" => Message::State(state_of(&array.get(1).dyn_into::<js_sys::Uint8Array>().ok()?.to_vec())),
        "paused" => Message::Paused,
        "ended" => Message::Ended(array.get(1).as_bool()?),
        "failed" => Message::Failed(array.get(1).as_string()?),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// The worker's side.

/// What the page last asked of the run.
#[derive(Clone, Copy, PartialEq)]
enum Control {
    Run,
    Pause,
    Stop,
}

/// How long the worker trains between its reports (and between looks at what the page asked).
const CHUNK_MS: f64 = 40.0;

/// In the worker: answers the page's messages (called by `main`, which finds no window there).
pub fn serve() {
    let control = Rc::new(Cell::new(Control::Run));
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        let data = event.data();
        match data.as_string().as_deref() {
            Some("pause") => control.set(Control::Pause),
            Some("resume") => control.set(Control::Run),
            Some("stop") => control.set(Control::Stop),
            _ => {
                let Ok(array) = data.dyn_into::<js_sys::Array>() else { return };
                if array.get(0).as_string().as_deref() == Some("job")
                    && let Ok(bytes) = array.get(1).dyn_into::<js_sys::Uint8Array>()
                {
                    wasm_bindgen_futures::spawn_local(train(bytes.to_vec(), control.clone()));
                }
            }
        }
    });
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page keeps it: so does its handler.
    on_message.forget();
    post(&[&"ready".into()]);
}

/// Posts `[values...]` to the page.
fn post(values: &[&JsValue]) {
    let array = js_sys::Array::new();
    for v in values {
        array.push(v);
    }
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let _ = scope.post_message(&array);
}

/// Posts the job's weights (or, when they cannot be read, the reason).
async fn post_state(job: &mut dyn Job) {
    match job.state().await {
        Ok(values) => {
            let bytes = js_sys::Uint8Array::from(&state_bytes(values)[..]);
            let array = js_sys::Array::of2(&"state".into(), &bytes);
            let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
            let _ = scope.post_message_with_transfer(&array, &js_sys::Array::of1(&bytes.buffer()));
        }
        Err(e) => post(&[&"failed".into(), &format!("the trained weights could not be read ({e})").into()]),
    }
}

/// Builds the job and trains it, reporting every chunk, until it ends or the page stops it.
async fn train(recipe: Vec<u8>, control: Rc<Cell<Control>>) {
    let on_run_end: RunEnd = Rc::new(|label: &str, metric: f32| post(&[&"run_end".into(), &label.into(), &(metric as f64).into()]));
    let job = match File::from_bytes(&recipe) {
        Ok(recipe) => build(&recipe, on_run_end).await,
        Err(e) => Err(e.to_string()),
    };
    let mut job = match job {
        Ok(job) => job,
        Err(why) => return post(&[&"failed".into(), &why.into()]),
    };
    let mut chunks = Chunks::default();
    let mut paused = false;
    loop {
        match control.get() {
            Control::Pause => {
                // The page shows the model as it is at a pause: its weights go once.
                if !paused {
                    post_state(&mut *job).await;
                    post(&[&"paused".into()]);
                    paused = true;
                }
                sleep_ms(50).await;
                continue;
            }
            Control::Stop => {
                post_state(&mut *job).await;
                return post(&[&"ended".into(), &false.into()]);
            }
            Control::Run => paused = false,
        }
        // Only a chunk's last progress matters to the page.
        let mut events = Vec::new();
        let chunk = chunks
            .next(&mut *job, CHUNK_MS, false, &mut |e| {
                if matches!((&e, events.last()), (Event::Progress(..), Some(Event::Progress(..)))) {
                    events.pop();
                }
                events.push(e)
            })
            .await;
        post(&[&"events".into(), &js_sys::Float64Array::from(&pack(&events)[..]).into()]);
        match chunk {
            Ok(false) => yield_to_browser().await,
            Ok(true) => {
                post_state(&mut *job).await;
                return post(&[&"ended".into(), &true.into()]);
            }
            Err(e) => {
                post_state(&mut *job).await;
                return post(&[&"failed".into(), &e.to_string().into()]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_cross_as_they_were() {
        let events = vec![Event::Progress(3, 150), Event::Loss(3, 1.25), Event::Epoch { step: 50, valid_loss: 0.5, metric: 0.875, items_per_s: 1234.5 }];
        assert_eq!(unpack(&pack(&events)), events);
    }

    #[test]
    fn images_and_settings_cross_as_they_were() {
        let set = ImageSet { images: Tensor::from_fn([2, 3, 2, 2], |i| i as f32 / 24.0), labels: vec![1, 0], classes: vec!["cats".into(), "dog s".into()] };
        let mut r = recipe("lesson.job", &[("lr", "0.003".into())]);
        put_images(&mut r, "train", &set);
        let back = File::from_bytes(&r.to_bytes()).unwrap();
        assert_eq!(back.meta(JOB), Some("lesson.job"));
        assert_eq!(setting::<f32>(&back, "lr").unwrap(), 0.003);
        assert!(setting::<f32>(&back, "wd").unwrap_err().contains("lacks its setting “wd”"));
        let got = take_images(&back, "train").unwrap();
        assert_eq!((got.images.data(), &got.labels, &got.classes), (set.images.data(), &set.labels, &set.classes));
        assert!(take_images(&back, "valid").is_err());
    }

    #[test]
    fn weights_cross_as_they_were() {
        let values = vec![("0.weight".to_string(), Tensor::from_fn([2, 3], |i| i as f32 - 2.5)), ("0.bias".to_string(), Tensor::from_fn([2], |i| i as f32))];
        let back = state_of(&state_bytes(values.clone())).unwrap();
        assert_eq!(back.len(), 2);
        for ((n, t), (m, u)) in values.iter().zip(&back) {
            assert_eq!((n, t.data()), (m, u.data()));
        }
    }
}
