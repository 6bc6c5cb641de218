//! The training runner the lessons share: it trains any model on the device the learner chooses, with progress,
//! live loss and metric curves, pause, resume and stop. On the CPU a run whose lesson gives a [`Recipe`] trains in
//! a Web Worker ([`crate::worker`]), so the page never waits on it; on a GPU (and where no worker can start) it
//! runs a few steps at a time between the browser's frames, each read of the loss awaited.

use super::plot::{LinePlot, Series};
use crate::data::load_digits;
use crate::device::{training_devices, use_device};
use crate::timing::{sleep_ms, yield_to_browser};
use engine::Device;
use engine::clock::now_ms;
use engine::error::{ErrorKind, OpError};
use engine::data::{Dataset, ImageSet};
use engine::learner::{Checkpoint, EpochReport, FitConfig, Loss, Metric, StepReport, Trainer};
use crate::query::Number;
use crate::worker::{Message, Recipe, Remote, recipe, setting};
use engine::nn::{Model, Sequential, load_state, read_state};
use engine::optim::Optimizer;
use engine::tensor::Tensor;
use leptos::prelude::*;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A future the runner awaits.
type Pending<'a, T> = Pin<Box<dyn Future<Output = engine::Result<T>> + 'a>>;

/// A training run as the runner sees it, whatever it trains: the engine's [`Trainer`] of any model and dataset.
pub trait Job {
    /// The next step ([`Trainer::step`]).
    fn step(&mut self) -> Pending<'_, StepReport>;
    /// The evaluation after an epoch, in pieces of about `budget_ms` ([`Trainer::evaluate_some`]): `None` while
    /// batches remain, then the epoch's report.
    fn evaluate(&mut self, budget_ms: f64) -> Pending<'_, Option<EpochReport>>;
    /// Whether every step has run.
    fn finished(&self) -> bool;
    /// The weights of the model being trained, named ([`read_state`]): what a run in the worker sends back. None
    /// for a job whose result is not a model (a comparison's metrics, a refusal).
    fn state(&mut self) -> Pending<'_, Vec<(String, Tensor)>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// Takes the weights a run in the worker trained ([`load_state`]); nothing for a job without a model.
    fn load_state(&mut self, _values: &[(String, Tensor)]) -> engine::Result<()> {
        Ok(())
    }
    /// A run of a [`Sequence`] ended in the worker with its label and final metric.
    fn run_ended(&mut self, _label: &str, _metric: f32) {}
    /// A sentence about the run's settings worth knowing before it trains ([`Trainer::batch_note`]).
    fn note(&self) -> Option<String> {
        None
    }
    /// Steps done ([`Trainer::steps_done`]).
    fn steps_done(&self) -> usize {
        0
    }
    /// Whether the device the run trains on was lost (see [`Device::is_lost`]).
    fn device_lost(&self) -> bool {
        false
    }
    /// Where the run could go on from on another device ([`Trainer::checkpoint`]); `None` where it cannot.
    fn checkpoint(&self) -> Option<Checkpoint> {
        None
    }
    /// Goes on from `checkpoint` ([`Trainer::resume`]).
    fn resume(&mut self, _checkpoint: &Checkpoint) -> engine::Result<()> {
        Err(OpError::new("training", ErrorKind::Value, "this run cannot go on from a checkpoint").into())
    }
}

impl<M: Model + 'static, D: Dataset<Input = M::Input> + 'static> Job for Trainer<M, D> {
    fn step(&mut self) -> Pending<'_, StepReport> {
        Box::pin(Trainer::step(self))
    }

    fn evaluate(&mut self, budget_ms: f64) -> Pending<'_, Option<EpochReport>> {
        Box::pin(Trainer::evaluate_some(self, budget_ms))
    }

    fn finished(&self) -> bool {
        Trainer::finished(self)
    }

    fn state(&mut self) -> Pending<'_, Vec<(String, Tensor)>> {
        Box::pin(read_state(&mut self.model))
    }

    fn load_state(&mut self, values: &[(String, Tensor)]) -> engine::Result<()> {
        load_state(&mut self.model, values)
    }

    fn steps_done(&self) -> usize {
        Trainer::steps_done(self)
    }

    fn note(&self) -> Option<String> {
        self.batch_note()
    }

    fn device_lost(&self) -> bool {
        self.device().is_lost()
    }

    fn checkpoint(&self) -> Option<Checkpoint> {
        Trainer::checkpoint(self)
    }

    fn resume(&mut self, checkpoint: &Checkpoint) -> engine::Result<()> {
        Trainer::resume(self, checkpoint)
    }
}

/// A run that could not be built (a model the settings refuse): its first step fails with the reason, in words,
/// which the runner shows; nothing else on the page is lost.
pub struct Refused(pub String);

impl Job for Refused {
    fn step(&mut self) -> Pending<'_, StepReport> {
        let why = self.0.clone();
        Box::pin(async move { Err(OpError::new("model", ErrorKind::Value, &why).hint("change the settings and train again").into()) })
    }

    fn evaluate(&mut self, _: f64) -> Pending<'_, Option<EpochReport>> {
        Box::pin(async { Err(OpError::new("model", ErrorKind::Value, "there is no model").into()) })
    }

    fn finished(&self) -> bool {
        false
    }
}

/// Runs one after another, as one run to the runner (its steps counted through all of them): a comparison of
/// settings over several seeds. After each run's last evaluation, `on_run_end` gets its label and its final
/// validation metric.
pub struct Sequence<M: Model, D: Dataset<Input = M::Input>> {
    /// Builds the runs, for a sequence made with [`Sequence::lazy`] that has not trained yet.
    build: Option<Build<M, D>>,
    runs: Vec<(String, Trainer<M, D>)>,
    current: usize,
    steps_before: usize,
    total: usize,
    on_run_end: RunEnd,
}

/// What a [`Sequence`] calls with a run's label and final metric.
type RunEnd = Box<dyn FnMut(&str, f32)>;

/// What builds a [`Sequence::lazy`]'s runs, or says why it cannot: a future, so that a long build (a comparison's
/// generated images) can give the page its turns.
type Build<M, D> = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<Vec<(String, Trainer<M, D>)>, String>>>>>;

impl<M: Model, D: Dataset<Input = M::Input>> Sequence<M, D> {
    /// The runs `(label, trainer)`, in order.
    pub fn new(runs: Vec<(String, Trainer<M, D>)>, on_run_end: impl FnMut(&str, f32) + 'static) -> Self {
        let total = runs.iter().map(|(_, t)| t.total_steps()).sum();
        Sequence { build: None, runs, current: 0, steps_before: 0, total, on_run_end: Box::new(on_run_end) }
    }

    /// The runs `build` makes, made only when the sequence first steps on the page: in the worker only the runs'
    /// results cross to the page, which then builds nothing (building a comparison's datasets and models held the
    /// page for 0.3 s). On the page, `build` gives the browser its turns while it works.
    pub fn lazy<F>(build: impl FnOnce() -> F + 'static, on_run_end: impl FnMut(&str, f32) + 'static) -> Self
    where
        F: Future<Output = Result<Vec<(String, Trainer<M, D>)>, String>> + 'static,
    {
        let build: Build<M, D> = Box::new(move || Box::pin(build()));
        Sequence { build: Some(build), runs: Vec::new(), current: 0, steps_before: 0, total: 0, on_run_end: Box::new(on_run_end) }
    }

    /// Builds a lazy sequence's runs, if not yet built.
    async fn built(&mut self) -> engine::Result<()> {
        if let Some(build) = self.build.take() {
            self.runs = build().await.map_err(|why| OpError::new("comparison", ErrorKind::Value, &why).hint("change the settings and train again"))?;
            self.total = self.runs.iter().map(|(_, t)| t.total_steps()).sum();
        }
        Ok(())
    }

    /// Steps in all the runs together.
    pub fn total_steps(&self) -> usize {
        self.total
    }

    fn ended() -> engine::Error {
        engine::error::OpError::new("Sequence", engine::error::ErrorKind::Value, "every run has ended").hint("start the comparison again").into()
    }
}

impl<M: Model + 'static, D: Dataset<Input = M::Input> + 'static> Job for Sequence<M, D> {
    fn step(&mut self) -> Pending<'_, StepReport> {
        Box::pin(async move {
            self.built().await?;
            let (before, total) = (self.steps_before, self.total);
            let (_, run) = self.runs.get_mut(self.current).ok_or_else(Self::ended)?;
            let report = run.step().await?;
            Ok(StepReport { step: before + report.step, total, ..report })
        })
    }

    fn evaluate(&mut self, budget_ms: f64) -> Pending<'_, Option<EpochReport>> {
        Box::pin(async move {
            let (label, run) = self.runs.get_mut(self.current).ok_or_else(Self::ended)?;
            let report = run.evaluate_some(budget_ms).await?;
            if let Some(report) = &report
                && run.finished()
            {
                let label = label.clone();
                self.run_ended(&label, report.metric);
            }
            Ok(report)
        })
    }

    fn finished(&self) -> bool {
        self.build.is_none() && self.current >= self.runs.len()
    }

    /// A run ended (here, or in the worker): its result is heard and the next run starts.
    fn run_ended(&mut self, label: &str, metric: f32) {
        (self.on_run_end)(label, metric);
        if let Some((_, run)) = self.runs.get(self.current) {
            self.steps_before += run.total_steps();
        }
        self.current += 1;
    }
}

/// Builds a fresh run on the device the learner chose (the lesson keeps its own handle on it, to use the model).
pub type StartJob = Rc<dyn Fn(Device) -> Started>;

/// A run as a lesson starts it: the job, and how the training worker rebuilds the same job on its side, where
/// the lesson gives one. A run with a recipe on the CPU trains in the worker; the job here stays as built until the
/// worker sends back its weights (at a pause, a stop and the end), which it then takes.
pub struct Started {
    /// The run.
    pub job: Rc<RefCell<dyn Job>>,
    /// The same run for the worker.
    pub recipe: Option<Recipe>,
}

impl Started {
    /// A run that trains on the page (a [`Refused`] one, or one the worker cannot rebuild).
    pub fn here(job: impl Job + 'static) -> Started {
        Started { job: Rc::new(RefCell::new(job)), recipe: None }
    }

    /// A run the worker can rebuild from `recipe`; `job` is the lesson's handle on it.
    pub fn portable(job: Rc<RefCell<dyn Job>>, recipe: Recipe) -> Started {
        Started { job, recipe: Some(recipe) }
    }
}

/// Where a run is.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// Not started.
    Idle,
    /// Training.
    Running,
    /// The learner pressed pause; the run pauses after its current chunk (in the worker: once its weights are back).
    Pausing,
    /// Paused by the learner.
    Paused,
    /// The learner pressed stop; the run ends after its current chunk (in the worker: once its weights are back).
    Stopping,
    /// Stopped by the learner before its end (the model keeps what it learned).
    Stopped,
    /// Every step has run.
    Done,
    /// It failed, with the engine's reason.
    Failed(String),
}

impl RunState {
    /// Whether steps are (or may again be) running.
    pub fn active(&self) -> bool {
        matches!(self, RunState::Running | RunState::Pausing | RunState::Paused | RunState::Stopping)
    }
}

/// Where a run trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Place {
    /// On the CPU, in the training worker.
    Worker,
    /// On the CPU, on the page's thread (where no worker can start, or the lesson gives no recipe).
    PageCpu,
    /// On the GPU, submitted from the page's thread.
    Gpu,
}

/// The run's state and curves, shared with the lesson (which reads the model once the run is not active).
#[derive(Clone, Copy)]
pub struct Training {
    /// Where the run is.
    pub state: RwSignal<RunState>,
    /// `(steps done, steps in all)`.
    pub progress: RwSignal<(usize, usize)>,
    /// `(step, training loss)` each time the loss is read.
    pub losses: RwSignal<Vec<(f64, f64)>>,
    /// `(step, validation loss, metric)` after each epoch.
    pub epochs: RwSignal<Vec<(f64, f64, f64)>>,
    /// Training items per second over the last epoch.
    pub speed: RwSignal<Option<f64>>,
    /// Counts the weights a run in the worker sent back: a lesson that shows the model mid-run (at a pause) reads
    /// it again when this changes.
    pub weights: RwSignal<usize>,
    /// Where the run trains (`None` before the first run).
    pub place: RwSignal<Option<Place>>,
    /// What happened when the run's GPU was lost and the run went on from its last checkpoint.
    pub recovered: RwSignal<Option<String>>,
    /// What the run says about its settings (a batch larger than the training set).
    pub note: RwSignal<Option<String>>,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            state: RwSignal::new(RunState::Idle),
            progress: RwSignal::new((0, 0)),
            losses: RwSignal::new(Vec::new()),
            epochs: RwSignal::new(Vec::new()),
            speed: RwSignal::new(None),
            weights: RwSignal::new(0),
            place: RwSignal::new(None),
            recovered: RwSignal::new(None),
            note: RwSignal::new(None),
        }
    }
}

/// How long one chunk of steps may keep the page busy, in milliseconds.
const CHUNK_MS: f64 = 12.0;

/// What a run reports as it goes, on the page's thread or from the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `(steps done, steps in all)`.
    Progress(usize, usize),
    /// The training loss read back at a step.
    Loss(usize, f32),
    /// The evaluation after the epoch that ended at `step`.
    Epoch { step: usize, valid_loss: f32, metric: f32, items_per_s: f64 },
}

/// A run taken a chunk at a time, on the page's thread or in the worker.
#[derive(Default)]
pub struct Chunks {
    /// Whether the epoch that just ended is being evaluated.
    evaluate: bool,
    /// Steps done.
    step: usize,
}

impl Chunks {
    /// One chunk: `budget_ms` of the evaluation of the epoch that just ended, or steps until `budget_ms` have
    /// passed or an epoch ends (its evaluation then runs in chunks of its own: a whole evaluation in one task kept
    /// the page busy for over 100 ms), and, with `stop_at_loss`, until a loss is read back (so that the page draws
    /// each). Whether the run is finished.
    pub async fn next(&mut self, job: &mut dyn Job, budget_ms: f64, stop_at_loss: bool, emit: &mut dyn FnMut(Event)) -> engine::Result<bool> {
        if self.evaluate {
            let Some(report) = job.evaluate(budget_ms).await? else { return Ok(false) };
            self.evaluate = false;
            emit(Event::Epoch { step: self.step, valid_loss: report.valid_loss, metric: report.metric, items_per_s: report.items_per_s });
            return Ok(job.finished());
        }
        let start = now_ms();
        while !job.finished() {
            let step = job.step().await?;
            self.step = step.step;
            emit(Event::Progress(step.step, step.total));
            if let Some(loss) = step.loss {
                emit(Event::Loss(step.step, loss));
            }
            if step.epoch_done {
                self.evaluate = true;
                return Ok(false);
            }
            if (stop_at_loss && step.loss.is_some()) || now_ms() - start > budget_ms {
                break;
            }
        }
        Ok(job.finished())
    }
}

impl Training {
    /// Shows what a run in the worker reported, its losses added to the curve at once.
    fn apply_all(&self, events: Vec<Event>) {
        let mut losses = Vec::new();
        for e in events {
            match e {
                Event::Loss(step, loss) => losses.push((step as f64, loss as f64)),
                e => self.apply(e),
            }
        }
        if !losses.is_empty() {
            self.losses.update(|l| l.extend(losses));
        }
    }

    /// Shows what a run reported.
    fn apply(&self, event: Event) {
        match event {
            Event::Progress(done, total) => self.progress.set((done, total)),
            Event::Loss(step, loss) => self.losses.update(|l| l.push((step as f64, loss as f64))),
            Event::Epoch { step, valid_loss, metric, items_per_s } => {
                self.epochs.update(|e| e.push((step as f64, valid_loss as f64, metric as f64)));
                self.speed.set(Some(items_per_s));
            }
        }
    }

    /// Runs a started run to its end: on the CPU (`on_cpu`) in the worker where it can start, else on the page;
    /// `start` builds the run again, on a new device, if its GPU is lost.
    async fn run(self, started: Started, total: usize, on_cpu: bool, start: StartJob) {
        self.state.set(RunState::Running);
        self.recovered.set(None);
        self.note.set(started.job.try_borrow().ok().and_then(|job| job.note()));
        self.progress.set((0, total));
        self.losses.set(Vec::new());
        self.epochs.set(Vec::new());
        self.speed.set(None);
        // The click's own work (building the run, redrawing what depends on it) ends first: the steps start in
        // a task of their own.
        yield_to_browser().await;
        if on_cpu
            && let Some(recipe) = &started.recipe
            && let Ok(remote) = Remote::start()
        {
            self.place.set(Some(Place::Worker));
            if self.run_in_worker(remote, started.job.clone(), recipe).await {
                return;
            }
        }
        self.place.set(Some(if on_cpu { Place::PageCpu } else { Place::Gpu }));
        self.run_here(started.job, start).await
    }

    /// The run's GPU was lost: the run is built again on a new GPU (the CPU where none opens) and goes on from its
    /// last checkpoint, the curves cut back to it. The new run, and the step it goes on from; `None` when the run
    /// has no checkpoint or cannot take it.
    async fn recover(&self, job: &Rc<RefCell<dyn Job>>, start: &StartJob, why: &str) -> Option<(Rc<RefCell<dyn Job>>, usize)> {
        let checkpoint = job.borrow().checkpoint()?;
        let (device, fell_back) = match Device::gpu().await {
            Ok(gpu) => (gpu, false),
            Err(_) => (Device::Cpu, true),
        };
        let fresh = start(device.clone()).job;
        fresh.borrow_mut().resume(&checkpoint).ok()?;
        // The learner may have left the page while a new device opened.
        let total = self.progress.try_get_untracked()?.1;
        let done = fresh.borrow().steps_done();
        self.losses.update(|l| l.retain(|p| p.0 <= done as f64));
        self.epochs.update(|e| e.truncate(checkpoint.epochs));
        self.progress.set((done, total));
        self.place.set(Some(if fell_back { Place::PageCpu } else { Place::Gpu }));
        let back = match checkpoint.epochs {
            0 => "from its start".to_string(),
            n => format!("from the end of epoch {n} (its last checkpoint)"),
        };
        self.recovered.set(Some(format!(
            "The GPU was lost while training ({why}). Training goes on {back} on {}; the steps after the checkpoint are trained again, and nothing else on the page was lost.",
            if fell_back { "the CPU, as no new GPU opened".to_string() } else { device.label() }
        )));
        Some((fresh, done))
    }

    /// Runs `job` on the page's thread, a chunk at a time: steps until a loss is read back or `CHUNK_MS` have
    /// passed, then the browser's turn; an epoch's evaluation is a chunk of its own. Pausing waits between chunks;
    /// stopping ends the run there.
    #[allow(clippy::await_holding_refcell_ref)] // see below
    async fn run_here(self, mut job: Rc<RefCell<dyn Job>>, start: StartJob) {
        let mut chunks = Chunks::default();
        // Recoveries from a lost GPU in this run (a device lost again and again is not recovered forever).
        let mut recoveries = 0;
        loop {
            // A page left mid-run ends its run.
            match self.state.try_get_untracked() {
                Some(RunState::Running) => {}
                Some(RunState::Pausing) => self.state.set(RunState::Paused),
                Some(RunState::Paused) => {
                    sleep_ms(100).await;
                    continue;
                }
                Some(RunState::Stopping) => return self.state.set(RunState::Stopped),
                _ => return,
            }
            // The job stays borrowed while its steps are awaited: the lesson reads the model with `try_borrow_mut`
            // and says "the model is training" while a chunk runs.
            let chunk = {
                let mut job = job.borrow_mut();
                chunks.next(&mut *job, CHUNK_MS, true, &mut |e| self.apply(e)).await
            };
            match chunk {
                Err(e) => {
                    // A browser may fail the last read before it says that the device was lost.
                    if recoveries < 3 && matches!(e, engine::Error::Gpu(_)) && !job.borrow().device_lost() {
                        sleep_ms(250).await;
                    }
                    if recoveries >= 3 || !job.borrow().device_lost() {
                        return self.fail(&e.to_string());
                    }
                    recoveries += 1;
                    match self.recover(&job, &start, &e.to_string()).await {
                        Some((fresh, done)) => {
                            job = fresh;
                            chunks = Chunks { evaluate: false, step: done };
                        }
                        None => return self.fail(&e.to_string()),
                    }
                }
                Ok(true) => return self.end(true),
                Ok(false) => yield_to_browser().await,
            }
        }
    }

    /// Runs `recipe` in the worker, showing what it reports and passing on pause, resume and stop; `job` takes the
    /// weights it sends back (at a pause, a stop and the end), before the run is shown as paused, stopped or done.
    /// `false` when the worker could not start the app (within `READY_MS`): the run then trains on the page.
    async fn run_in_worker(self, remote: Remote, job: Rc<RefCell<dyn Job>>, recipe: &Recipe) -> bool {
        const READY_MS: f64 = 30_000.0;
        let (mut told, mut sent, asked) = (RunState::Running, false, now_ms());
        loop {
            while let Some(message) = remote.next() {
                match message {
                    Message::Ready if !sent => {
                        remote.send_job(recipe);
                        sent = true;
                    }
                    Message::Ready => {}
                    Message::Failed(_) if !sent => return false,
                    Message::Events(events) => self.apply_all(events),
                    // The lesson may be reading the model (across an await): what it cannot take yet waits, and
                    // so does everything after it.
                    Message::RunEnd(label, metric) => match job.try_borrow_mut() {
                        Ok(mut job) => job.run_ended(&label, metric),
                        Err(_) => {
                            remote.put_back(Message::RunEnd(label, metric));
                            break;
                        }
                    },
                    Message::State(values) => match (values, job.try_borrow_mut()) {
                        (Ok(values), Ok(mut j)) => match j.load_state(&values) {
                            Ok(()) => self.weights.update(|w| *w += 1),
                            Err(e) => {
                                self.fail(&format!("the trained weights did not fit the model: {e}"));
                                return true;
                            }
                        },
                        (Ok(values), Err(_)) => {
                            remote.put_back(Message::State(Ok(values)));
                            break;
                        }
                        (Err(e), _) => {
                            self.fail(&e);
                            return true;
                        }
                    },
                    Message::Paused => {
                        if self.state.try_get_untracked() == Some(RunState::Pausing) {
                            self.state.set(RunState::Paused);
                        }
                    }
                    Message::Ended(finished) => {
                        self.end(finished);
                        return true;
                    }
                    Message::Failed(why) => {
                        self.fail(&why);
                        return true;
                    }
                }
            }
            if !sent && now_ms() - asked > READY_MS {
                return false;
            }
            // A page left mid-run ends its run (dropping the worker ends it).
            let Some(now) = self.state.try_get_untracked() else { return true };
            if now != told {
                match now {
                    RunState::Pausing => remote.tell("pause"),
                    RunState::Running => remote.tell("resume"),
                    // Paused: the worker paused when told it was pausing.
                    RunState::Paused => {}
                    _ => remote.tell("stop"),
                }
                told = now;
            }
            sleep_ms(25).await;
        }
    }

    /// The run ended: every step ran (`finished`), or the learner stopped it.
    fn end(&self, finished: bool) {
        // A stop pressed during the last chunk still stops; otherwise the run is complete.
        let stopped = !finished || self.state.get_untracked() == RunState::Stopping;
        self.state.set(if stopped { RunState::Stopped } else { RunState::Done });
    }

    fn fail(&self, why: &str) {
        self.state.set(RunState::Failed(format!("Training failed ({why}). The model keeps what it had learned; start again to retry.")));
    }
}

/// Runs of one experiment side by side, each with its own runner: what one setting changes, trained by the learner
/// (dropout against none, small batches against large).
#[component]
pub fn SideBySide(
    /// The runs, left to right: heading, test id, steps, and how to start it.
    runs: Vec<(&'static str, &'static str, usize, StartJob)>,
    /// What each start button says.
    label: &'static str,
    /// The validation metric's name.
    metric: &'static str,
) -> impl IntoView {
    view! {
        <div class="effect-runs">
            {runs.into_iter().map(|(heading, testid, total_steps, start)| view! {
                <div class="effect-run" data-testid=testid>
                    <h3>{heading}</h3>
                    <TrainingRunner training=Training::default() start total_steps label metric/>
                </div>
            }).collect_view()}
        </div>
    }
}

/// Two settings compared over several seeds, said in words: `results` are `(label, validation metric)` in the
/// order the runs ended, `settings` each setting's label and how the sentence names it (`without embedding
/// dropout`), and `effect` what the second setting changes (`embedding dropout's effect`). The sentence gives each
/// setting's mean and range over its seeds, and whether the difference of the means is larger than the spread
/// between seeds of one setting: only then does it say which ends higher. Empty until both settings have a run.
pub fn seeds_verdict(results: &[(String, f32)], settings: [(&str, &str); 2], metric: &str, effect: &str) -> String {
    let of = |label: &str| results.iter().filter(|(l, _)| l == label).map(|&(_, v)| v as f64).collect::<Vec<_>>();
    let (first, second) = (of(settings[0].0), of(settings[1].0));
    if first.is_empty() || second.is_empty() {
        return String::new();
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let range = |v: &[f64]| v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min);
    let (a, b) = (mean(&first), mean(&second));
    let spread = range(&first).max(range(&second));
    let verdict = if (a - b).abs() <= spread {
        format!(
            "The means differ by {:.4}, less than the {spread:.4} between seeds of one setting: with these seeds, {effect} is lost in \
             the noise of training itself.",
            (a - b).abs()
        )
    } else {
        let direction = if b < a { "lower" } else { "higher" };
        format!("{} ends {:.4} {direction} on average, more than the {spread:.4} between seeds of one setting.", settings[1].0, (a - b).abs())
    };
    format!(
        "Validation {metric}, mean over {} and {} seeds: {a:.4} {} (range {:.4}), {b:.4} {} (range {:.4}). {verdict}",
        first.len(),
        second.len(),
        settings[0].1,
        range(&first),
        settings[1].1,
        range(&second),
    )
}

/// The runs of a comparison over seeds (a [`Sequence`] of two settings, alternating, each with every seed): its
/// runner, a table of each finished run's setting, seed and final metric, and, once all `runs` have ended, the
/// verdict `verdict` makes of them. Test ids `{testid}-runs` and `{testid}-verdict`.
#[component]
#[allow(clippy::too_many_arguments)]
pub fn SeedRuns(
    /// The runner's state.
    training: Training,
    /// Starts the sequence.
    start: StartJob,
    /// Steps in the whole sequence.
    #[prop(into)]
    total_steps: Signal<usize>,
    /// `(setting, final metric)` of each run, in the order the runs ended (the sequence's `on_run_end` fills it).
    results: RwSignal<Vec<(String, f32)>>,
    /// The seeds, in the order the sequence runs them.
    seeds: &'static [u64],
    /// The verdict of all the runs.
    verdict: fn(&[(String, f32)]) -> String,
    /// The metric's name.
    metric: &'static str,
    /// The test-id prefix.
    testid: &'static str,
) -> impl IntoView {
    let runs = 2 * seeds.len();
    view! {
        <TrainingRunner training start total_steps label="Run the comparison here" metric/>
        <table class="runs" data-testid=format!("{testid}-runs")>
            <caption>"Runs of the comparison"</caption>
            <thead><tr><th scope="col">"setting"</th><th scope="col">"seed"</th><th scope="col">{format!("validation {metric}")}</th></tr></thead>
            <tbody>
                {move || results.get().into_iter().enumerate().map(|(i, (label, value))| view! {
                    <tr><td>{label}</td><td>{seeds[(i / 2) % seeds.len()]}</td><td>{format!("{value:.4}")}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <p class="sum" data-testid=format!("{testid}-verdict") aria-live="polite">{move || {
            let r = results.get();
            (r.len() == runs).then(|| verdict(&r))
        }}</p>
    }
}

/// The comparisons' common fit on the digits: `model` trained for `epochs` in batches of `batch` on the first
/// `sizes.0` digits of the lessons' split (a fifth held out, seed 7) and validated on the first `sizes.1` held-out
/// ones; one-cycle to 3e-3 with AdamW and no weight decay, the loss read at every step.
pub fn digits_fit(device: &Device, digits: &ImageSet, model: Sequential, sizes: (usize, usize), epochs: usize, batch: usize) -> Trainer<Sequential, ImageSet> {
    let (train, valid) = digits.split(0.2, 7);
    let (train, valid) = (train.subset(&(0..sizes.0).collect::<Vec<_>>()), valid.subset(&(0..sizes.1).collect::<Vec<_>>()));
    let config = FitConfig { epochs, batch_size: batch, lr_max: 3e-3, seed: 7, read_every: 1, loss: Loss::CrossEntropy, metric: Metric::Accuracy };
    Trainer::new(device, model, Optimizer::adamw(0.0), train, valid, config)
}

/// [`SideBySide`] runs on the shipped digits, once they are loaded: each run is `(heading, test id, steps,
/// setting)`, and `build` makes its trainer from the device, the digits and its setting. On the CPU each run
/// trains in the worker, which rebuilds it as the job `job` ([`digits_job`]).
pub fn digits_side_by_side<T: Number>(
    job: &'static str,
    runs: Vec<(&'static str, &'static str, usize, T)>,
    build: fn(&Device, &ImageSet, T) -> Trainer<Sequential, ImageSet>,
    label: &'static str,
    metric: &'static str,
) -> impl IntoView {
    let digits = LocalResource::new(load_digits);
    move || match digits.get() {
        None => view! { <p class="status">"Loading the digits…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
        Some(Ok(set)) => {
            let set = Rc::new(set);
            let runs = runs
                .iter()
                .map(|&(heading, testid, steps, setting)| {
                    let set = set.clone();
                    let start = move |device: Device| {
                        let job_here = Rc::new(RefCell::new(build(&device, &set, setting)));
                        Started::portable(job_here, recipe(job, &[(SETTING, setting.to_url())]))
                    };
                    (heading, testid, steps, Rc::new(start) as StartJob)
                })
                .collect();
            view! { <SideBySide runs label metric/> }.into_any()
        }
    }
}

/// The recipe key of a [`digits_side_by_side`] run's setting.
const SETTING: &str = "setting";

/// In the worker: the run of a [`digits_side_by_side`] recipe, on the CPU.
pub async fn digits_job<T: Number>(recipe: &Recipe, build: fn(&Device, &ImageSet, T) -> Trainer<Sequential, ImageSet>) -> Result<Box<dyn Job>, String> {
    let raw: String = setting(recipe, SETTING)?;
    let value = T::from_url(&raw).ok_or_else(|| format!("the training job's setting “{raw}” cannot be read"))?;
    let digits = load_digits().await?;
    Ok(Box::new(build(&Device::Cpu, &digits, value)))
}

/// The controls and curves of a training run: where to train, start, pause or resume, stop, the progress, the
/// training and validation losses by step and the validation metric by epoch.
#[component]
pub fn TrainingRunner(
    /// The run's state and curves.
    training: Training,
    /// Builds a fresh run on the chosen device.
    start: StartJob,
    /// Steps in a run (for the progress and the curves' axis before the first step).
    #[prop(into)]
    total_steps: Signal<usize>,
    /// What the start button says: `Train the model here (two epochs)`.
    label: &'static str,
    /// The validation metric's name: `accuracy`.
    metric: &'static str,
) -> impl IntoView {
    let page = use_device();
    let devices = move || page.get().map(|p| training_devices(&p));
    // The learner's choice, as an index into the choices (the default until they choose).
    let choice = RwSignal::new(None::<usize>);
    let chosen = move || devices().map(|d| choice.get().unwrap_or(d.default));
    let device = move || devices().zip(chosen()).map(|(d, i)| d.choices[i].0.clone());
    let begin = move |_| {
        if training.state.get_untracked().active() {
            return;
        }
        let Some(device) = device() else { return };
        let on_cpu = matches!(device, Device::Cpu);
        let started = start(device);
        wasm_bindgen_futures::spawn_local(training.run(started, total_steps.get_untracked(), on_cpu, start.clone()));
    };
    let status = move || match training.state.get() {
        RunState::Idle => "Not trained yet.".to_string(),
        RunState::Running | RunState::Pausing | RunState::Paused | RunState::Stopping => {
            let (done, total) = training.progress.get();
            let paused = match training.state.get() {
                RunState::Pausing => " (pausing)",
                RunState::Paused => " (paused)",
                RunState::Stopping => " (stopping)",
                _ => "",
            };
            format!("Step {done} of {total}{paused}.")
        }
        RunState::Stopped => format!("Stopped after step {} of {}: the model keeps what it learned.", training.progress.get().0, training.progress.get().1),
        RunState::Done => "Trained.".to_string(),
        RunState::Failed(e) => e,
    };
    let last_metric = move || training.epochs.get().last().map(|e| format!("validation {metric} {:.4}, loss {:.4}", e.2, e.1));
    let losses = Signal::derive(move || {
        let epochs = training.epochs.get();
        vec![
            Series { name: "training loss", class: "train", points: training.losses.get() },
            Series { name: "validation loss", class: "valid", points: epochs.iter().map(|e| (e.0, e.1)).collect() },
        ]
    });
    let metric_curve = Signal::derive(move || vec![Series { name: metric, class: "metric", points: training.epochs.get().iter().map(|e| (e.0, e.2)).collect() }]);
    let x_max = Signal::derive(move || if training.state.get() == RunState::Idle { total_steps.get() } else { training.progress.get().1 } as f64);
    view! {
        <div class="training-runner" data-testid="training-runner">
            <div class="controls">
                {move || devices().filter(|d| d.choices.len() > 1).map(|d| {
                    let keys: Vec<&str> = d.choices.iter().map(|c| c.2).collect();
                    view! {
                        <label>
                            "Train on "
                            <select data-testid="train-device" disabled=move || training.state.get().active()
                                on:change=move |ev| choice.set(keys.iter().position(|k| *k == event_target_value(&ev)))>
                                {d.choices.into_iter().enumerate().map(|(i, (_, label, key))| view! {
                                    <option value=key selected=move || chosen() == Some(i)>{label}</option>
                                }).collect_view()}
                            </select>
                        </label>
                    }
                })}
                <button type="button" data-testid="train-start" on:click=begin disabled=move || page.get().is_none() || training.state.get().active()>
                    {move || if training.state.get() == RunState::Idle { label.to_string() } else { "Train again from the start".to_string() }}
                </button>
                <button type="button" data-testid="train-pause" disabled=move || !matches!(training.state.get(), RunState::Running | RunState::Paused)
                    on:click=move |_| training.state.update(|s| match s {
                        RunState::Paused => *s = RunState::Running,
                        RunState::Running => *s = RunState::Pausing,
                        _ => {}
                    })>
                    {move || if training.state.get() == RunState::Paused { "Resume" } else { "Pause" }}
                </button>
                <button type="button" data-testid="train-stop" disabled=move || !matches!(training.state.get(), RunState::Running | RunState::Paused)
                    on:click=move |_| training.state.set(RunState::Stopping)>"Stop"</button>
            </div>
            {move || devices().and_then(|d| d.note).map(|note| view! { <p class="notice" data-testid="train-device-note">{note}</p> })}
            {move || training.place.get().map(|place| view! { <p class="status" data-testid="train-where">{match place {
                Place::Worker => "This run trains on the CPU in a Web Worker, a thread of its own: the page stays free while it runs.",
                Place::PageCpu => "This run trains on the CPU on the page's own thread (no worker could start here), a few steps between frames.",
                Place::Gpu => "This run trains on the GPU: the page sends each step's work and draws while the GPU computes.",
            }}</p> })}
            {move || training.note.get().map(|m| view! { <p class="notice" role="status" data-testid="train-note">{m}</p> })}
            {move || training.recovered.get().map(|m| view! { <p class="notice" role="status" data-testid="train-recovered">{m}</p> })}
            <progress data-testid="train-progress" max=move || training.progress.get().1.max(1) value=move || training.progress.get().0></progress>
            <p class="status" role="status" aria-live="polite" data-testid="train-status">
                {status} " " <span data-testid="train-metric">{last_metric}</span>
                {move || training.speed.get().map(|s| format!(" ({s:.0} items/s)"))}
            </p>
            <div class="plots">
                <LinePlot series=losses x_max x_label="step" y_label="loss" testid="loss-plot"/>
                <LinePlot series=metric_curve x_max x_label="step" y_label=metric testid="metric-plot"/>
            </div>
        </div>
    }
}
