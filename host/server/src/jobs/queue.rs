//! Workers: claim queued jobs, run them, keep them alive, and recover the jobs of workers
//! that died.
//!
//! - **Claim**: the oldest `pending` job, atomically (`af_db::jobs::claim`: `for update skip
//!   locked` on PostgreSQL), so two workers never run the same job. A worker runs up to
//!   `concurrency` jobs at once; it looks for work when a job is queued in this process and
//!   otherwise every `poll_interval`.
//! - **Heartbeat**: every `heartbeat_interval` the worker refreshes each job it runs. The same
//!   write returns the job's `cancel_requested` flag (a cancel asked through any server stops
//!   the trainer within one batch) or tells the worker it no longer holds the job (it was
//!   re-queued), in which case it stops without writing anything more.
//! - **Recovery**: every worker looks for running jobs whose heartbeat is older than
//!   `stale_after` and re-queues them (`pending` again; the next run resumes from the last
//!   checkpoint), or fails them with a clear message once they used `max_attempts` starts.
//!   On SQLite only this process uses the database, so a starting server re-queues every job
//!   left running by its previous life at once.
//! - **Shutdown**: running jobs are stopped between batches and re-queued, to resume in the
//!   next worker.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use af_core::JobStatus;
use af_db::jobs::{Job, JobUpdate};
use tokio::sync::Semaphore;

use super::events::JobEvent;
use super::pipeline::{self, JobError};
use super::StopReason;
use crate::state::AppState;

/// A name for this worker that is unique across machines and restarts.
pub fn new_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let nonce: u32 = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        h.finish() as u32
    };
    format!("{host}:{}:{nonce:08x}", std::process::id())
}

/// Runs a worker until `shutdown` resolves, then stops its jobs and re-queues them.
pub async fn run_worker(state: AppState, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let worker_id = new_worker_id();
    let settings = state.config.jobs.clone();
    tracing::info!(worker = %worker_id, concurrency = settings.concurrency, "worker started");
    if state.db.backend() == af_db::Backend::Sqlite {
        requeue_all_running(&state, "the server restarted").await?;
    }
    let recovery = tokio::spawn(recovery_loop(state.clone()));
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let mut running = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p?,
            _ = &mut shutdown => break,
        };
        // Register interest before looking, so a job queued in between still wakes us.
        let queued = state.jobs.queued.notified();
        match claim(&state, &worker_id).await {
            Ok(Some(job)) => {
                let (state, worker_id) = (state.clone(), worker_id.clone());
                running.spawn(async move {
                    run_claimed(&state, &worker_id, job).await;
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    _ = queued => {}
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = &mut shutdown => break,
                }
            }
            Err(e) => {
                drop(permit);
                tracing::warn!(error = %e, "claiming a job failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(settings.poll_interval) => {}
                    _ = &mut shutdown => break,
                }
            }
        }
        // Reap finished runs (keeps the set small).
        while running.try_join_next().is_some() {}
    }
    tracing::info!(worker = %worker_id, jobs = ?state.jobs.running_jobs(), "worker stopping");
    recovery.abort();
    state.jobs.stop_all(StopReason::Shutdown);
    while running.join_next().await.is_some() {}
    Ok(())
}

/// Claims the oldest pending job for this worker, with its `preparing` event.
async fn claim(state: &AppState, worker_id: &str) -> anyhow::Result<Option<Job>> {
    let claimed = af_db::jobs::claim(&state.db, worker_id, |job| {
        let message = if job.attempts > 1 {
            format!("resumed by worker {worker_id} (start {} of at most {})", job.attempts, state.config.jobs.max_attempts)
        } else {
            format!("started by worker {worker_id}")
        };
        JobEvent::status(JobStatus::Preparing, Some(JobStatus::Pending), message).to_new()
    })
    .await?;
    Ok(claimed.map(|(job, event)| {
        state.jobs.hub.publish(&event);
        tracing::info!(job = job.id, attempt = job.attempts, worker = worker_id, "claimed a training job");
        job
    }))
}

/// Runs a claimed job to its end with a heartbeat beside it, then records how it ended.
async fn run_claimed(state: &AppState, worker_id: &str, job: Job) {
    let job_id = job.id;
    let flag = state.jobs.track(job_id);
    let heartbeat = tokio::spawn(heartbeat_loop(state.clone(), worker_id.to_string(), job_id));
    let outcome = pipeline::run(state, worker_id, job, flag.clone()).await;
    heartbeat.abort();
    state.jobs.untrack(job_id);
    let running = [JobStatus::Preparing, JobStatus::Training];
    let result = match outcome {
        Ok(()) => Ok(None),
        Err(JobError::Stopped(StopReason::Lost)) => {
            tracing::warn!(job = job_id, "this worker lost the job (re-queued elsewhere); stopped without writing");
            Ok(None)
        }
        Err(JobError::Stopped(StopReason::Cancelled)) => {
            let update = JobUpdate {
                from: &running,
                worker_id: Some(worker_id),
                status: Some(JobStatus::Cancelled),
                release: true,
                completed: true,
                ..Default::default()
            };
            let previous = af_db::jobs::get(&state.db, job_id).await.ok().map(|j| j.status);
            let event = JobEvent::status(JobStatus::Cancelled, previous, "cancelled; training stopped between two batches".to_string());
            state.jobs.update(&state.db, job_id, &update, Some(&event)).await.map(|_| Some(JobStatus::Cancelled))
        }
        Err(JobError::Stopped(StopReason::Shutdown)) => {
            let update = JobUpdate { from: &running, worker_id: Some(worker_id), status: Some(JobStatus::Pending), release: true, ..Default::default() };
            let event = JobEvent::status(JobStatus::Pending, None, "the worker shut down; the job will resume from its last checkpoint".to_string());
            state.jobs.update(&state.db, job_id, &update, Some(&event)).await.map(|_| Some(JobStatus::Pending))
        }
        Err(JobError::Failed(message)) => {
            tracing::warn!(job = job_id, error = %message, "training job failed");
            // What the user reads (job, event, monitor) names no server path.
            let message = super::messages::redact(state, &message);
            let update = JobUpdate {
                from: &running,
                worker_id: Some(worker_id),
                status: Some(JobStatus::Failed),
                error_message: Some(&message),
                release: true,
                completed: true,
                ..Default::default()
            };
            let event = JobEvent::TrainingFailed { error: message.clone() };
            state.jobs.update(&state.db, job_id, &update, Some(&event)).await.map(|_| Some(JobStatus::Failed))
        }
    };
    match result {
        Ok(Some(status)) => tracing::info!(job = job_id, %status, "training job ended"),
        Ok(None) => {}
        Err(e) => tracing::error!(job = job_id, error = %e, "recording the end of a training job"),
    }
}

/// Refreshes the job's heartbeat until aborted; turns a cancel request or a lost job into a
/// stop of the trainer.
async fn heartbeat_loop(state: AppState, worker_id: String, job_id: i64) {
    let mut tick = tokio::time::interval(state.config.jobs.heartbeat_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match af_db::jobs::heartbeat(&state.db, job_id, &worker_id).await {
            Ok(Some(true)) => {
                state.jobs.stop(job_id, StopReason::Cancelled);
            }
            Ok(Some(false)) => {}
            Ok(None) => {
                state.jobs.stop(job_id, StopReason::Lost);
                return;
            }
            Err(e) => tracing::warn!(job = job_id, error = %e, "heartbeat failed"),
        }
    }
}

/// Every `heartbeat_interval`: re-queue (or fail) running jobs whose worker stopped beating.
async fn recovery_loop(state: AppState) {
    let mut tick = tokio::time::interval(state.config.jobs.heartbeat_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = recover_stale(&state).await {
            tracing::warn!(error = %e, "looking for orphaned jobs failed");
        }
        if let Err(e) = super::prelabel::recover(&state).await {
            tracing::warn!(error = %e, "looking for orphaned pre-label runs failed");
        }
    }
}

/// Re-queues or fails running jobs with a stale heartbeat (not those this process runs).
pub async fn recover_stale(state: &AppState) -> anyhow::Result<usize> {
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(state.config.jobs.stale_after)?;
    let mine = state.jobs.running_jobs();
    let mut n = 0;
    for (job_id, worker) in af_db::jobs::stale(&state.db, cutoff).await? {
        if mine.contains(&job_id) {
            continue;
        }
        let why = format!(
            "worker {} stopped sending heartbeats for {:.0} s",
            worker.as_deref().unwrap_or("?"),
            state.config.jobs.stale_after.as_secs_f64()
        );
        if requeue_or_fail(state, job_id, worker.as_deref(), &why).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// Every running job goes back to the queue (or fails if out of attempts).
async fn requeue_all_running(state: &AppState, why: &str) -> anyhow::Result<()> {
    for job in af_db::jobs::list_in(&state.db, &[JobStatus::Preparing, JobStatus::Training]).await? {
        requeue_or_fail(state, job.id, job.worker_id.as_deref(), why).await?;
    }
    Ok(())
}

/// Re-queues a running job held by `worker` (to resume from its checkpoint) or fails it when
/// it has used all its starts. Whether it changed the job.
async fn requeue_or_fail(state: &AppState, job_id: i64, worker: Option<&str>, why: &str) -> anyhow::Result<bool> {
    let job = af_db::jobs::get(&state.db, job_id).await?;
    let running = [JobStatus::Preparing, JobStatus::Training];
    let max = i64::from(state.config.jobs.max_attempts);
    let changed = if job.attempts >= max {
        let message = format!(
            "{why}; the job was started {} times and never finished, so it was given up (a worker keeps dying on it — \
             check the workers' logs and memory, or try a smaller batch or imgsz)",
            job.attempts
        );
        let update = JobUpdate {
            from: &running,
            worker_id: worker,
            status: Some(JobStatus::Failed),
            error_message: Some(&message),
            release: true,
            completed: true,
            ..Default::default()
        };
        state.jobs.update(&state.db, job_id, &update, Some(&JobEvent::TrainingFailed { error: message.clone() })).await?
    } else {
        let update = JobUpdate { from: &running, worker_id: worker, status: Some(JobStatus::Pending), release: true, ..Default::default() };
        let event = JobEvent::status(JobStatus::Pending, Some(job.status), format!("{why}; re-queued to resume from its last checkpoint"));
        state.jobs.update(&state.db, job_id, &update, Some(&event)).await?
    };
    if let Some(j) = &changed {
        tracing::warn!(job = job_id, status = %j.status, "{why}");
        state.jobs.queued.notify_waiters();
    }
    Ok(changed.is_some())
}

/// How long a worker waits for its jobs to stop on shutdown before giving up on them (they
/// are then recovered through their stale heartbeat).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
