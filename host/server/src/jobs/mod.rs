//! Training jobs end to end: the config a client posts, the queue workers claim from, the
//! pipeline a worker runs, the events it streams, the registry it fills, and inference with
//! what it produced.
//!
//! ```text
//! POST /training/jobs ─ config (validate) ─ af_db::jobs::create ─ event 1 ─┐
//! worker ─ queue::claim ─ pipeline:                                          │ EventHub ─ WebSocket
//!   load records (DB) → af-dataset (plugins) → engine train (blocking thread)│   (+ LISTEN/NOTIFY
//!   → formatter plugin → training_metrics + progress + events ──────────────┤    across processes)
//!   → registry (weights → models/, trained_models row) → training_complete ─┘
//! inference::ModelCache ← POST /models/{id}/predict, from-model, prelabel
//! ```
//!
//! Module map: `config` (job config parsing/validation), `defaults` (hyperparameter defaults
//! and ranges for clients), `limits` (what one user may make the server train: epochs, imgsz,
//! the memory estimate), `messages` (what users read, without server paths), `events` (event
//! types, the hub, the PostgreSQL listener), `queue` (workers: claim, heartbeat, recovery,
//! cancellation), `pipeline` (one job's stages),
//! `registry` (model files and rows), `inference` (the model cache), `prelabel` (background
//! pre-labelling).

pub mod config;
pub mod defaults;
pub mod events;
pub mod inference;
pub mod limits;
pub mod messages;
pub mod pipeline;
pub mod prelabel;
pub mod queue;
pub mod registry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use af_db::jobs::{Job, JobUpdate, StoredEvent};
use af_db::{Db, DbResult};
use af_engine::train::CancelToken;
use tokio::sync::Notify;

use crate::state::AppState;

pub use events::{EventHub, JobEvent};
pub use inference::ModelCache;

/// Why a running job was told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A user cancelled it.
    Cancelled,
    /// Its worker no longer holds it (re-queued after a missed heartbeat): stop writing.
    Lost,
    /// The process is shutting down: leave it for recovery.
    Shutdown,
}

/// The stop flag of one running job: the trainer's cancel token (checked between batches)
/// and why it was set.
#[derive(Debug, Clone, Default)]
pub struct StopFlag {
    token: CancelToken,
    reason: Arc<Mutex<Option<StopReason>>>,
}

impl StopFlag {
    /// Stops the job; the first reason given sticks.
    pub fn stop(&self, reason: StopReason) {
        let mut r = self.reason.lock().expect("stop lock");
        if r.is_none() {
            *r = Some(reason);
        }
        self.token.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    pub fn reason(&self) -> Option<StopReason> {
        *self.reason.lock().expect("stop lock")
    }

    /// The trainer's cancel token (cancelling it without a reason counts as a failure path's
    /// stop; see the pipeline).
    pub fn token(&self) -> CancelToken {
        self.token.clone()
    }
}

/// This process's job machinery: the event hub, the model cache, the stop flags of the jobs
/// its workers run, and a wake-up for workers when a job is queued here.
pub struct JobsRuntime {
    pub hub: EventHub,
    pub models: ModelCache,
    running: Mutex<HashMap<i64, StopFlag>>,
    pub queued: Notify,
}

impl JobsRuntime {
    pub fn new(models: ModelCache) -> Self {
        JobsRuntime {
            hub: EventHub::new(),
            models,
            running: Mutex::new(HashMap::new()),
            queued: Notify::new(),
        }
    }

    /// Registers a job this process now runs; its flag stops it.
    pub fn track(&self, job_id: i64) -> StopFlag {
        let flag = StopFlag::default();
        self.running.lock().expect("running lock").insert(job_id, flag.clone());
        flag
    }

    pub fn untrack(&self, job_id: i64) {
        self.running.lock().expect("running lock").remove(&job_id);
    }

    /// Stops a job if this process runs it; whether it did.
    pub fn stop(&self, job_id: i64, reason: StopReason) -> bool {
        match self.running.lock().expect("running lock").get(&job_id) {
            Some(flag) => {
                flag.stop(reason);
                true
            }
            None => false,
        }
    }

    /// Stops every job this process runs (shutdown).
    pub fn stop_all(&self, reason: StopReason) {
        for flag in self.running.lock().expect("running lock").values() {
            flag.stop(reason);
        }
    }

    pub fn running_jobs(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.running.lock().expect("running lock").keys().copied().collect();
        ids.sort();
        ids
    }

    /// Applies a guarded job update with its event, then publishes the event here.
    pub async fn update(&self, db: &Db, job_id: i64, update: &JobUpdate<'_>, event: Option<&JobEvent>) -> DbResult<Option<Job>> {
        let new = event.map(JobEvent::to_new);
        let out = af_db::jobs::update(db, job_id, update, new.as_ref()).await?;
        Ok(out.map(|(job, stored)| {
            if let Some(e) = stored {
                self.hub.publish(&e);
            }
            job
        }))
    }

    /// Stores an event of a job `worker_id` holds and publishes it; `None` if it lost the job.
    pub async fn append(&self, db: &Db, job_id: i64, worker_id: &str, event: &JobEvent) -> DbResult<Option<StoredEvent>> {
        let out = af_db::jobs::append(db, job_id, worker_id, &event.to_new()).await?;
        if let Some(e) = &out {
            self.hub.publish(e);
        }
        Ok(out)
    }
}

/// The background tasks of a server: the cross-process event listener (PostgreSQL) and, unless
/// disabled, a worker.
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    pub fn start(state: &AppState) -> Background {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let mut tasks = vec![tokio::spawn(events::listen_postgres(state.db.clone(), state.jobs.hub.clone()))];
        if state.config.jobs.run_worker {
            let (state, mut rx) = (state.clone(), rx.clone());
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = rx.wait_for(|stopped| *stopped).await;
                };
                if let Err(e) = queue::run_worker(state, shutdown).await {
                    tracing::error!(error = %e, "the worker stopped");
                }
            }));
        }
        Background { stop, tasks }
    }

    /// Stops the worker (its jobs are re-queued) and waits for it, at most
    /// [`queue::SHUTDOWN_GRACE`].
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut tasks = self.tasks;
        let listener = tasks.remove(0);
        let all = futures::future::join_all(tasks);
        if tokio::time::timeout(queue::SHUTDOWN_GRACE, all).await.is_err() {
            tracing::warn!("the worker did not stop within {:?}; its jobs will be recovered by their heartbeat", queue::SHUTDOWN_GRACE);
        }
        listener.abort();
    }
}
