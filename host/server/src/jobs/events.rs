//! Job events: what they are ([`JobEvent`]), how they are stored (through `af_db::jobs`, each
//! with its sequence number, in the same transaction as the state change it reports) and how
//! they reach subscribers ([`EventHub`]).
//!
//! The hub is an in-process fan-out: one `tokio::sync::broadcast` channel per watched job. A
//! publisher never waits for a subscriber: each subscriber reads the shared ring buffer at its
//! own pace, and one that falls more than [`CHANNEL_CAPACITY`] events behind is told it
//! lagged and catches up from the event store (the WebSocket does this), so a slow client
//! never slows training. Events written in this process are published right after their
//! transaction commits; on PostgreSQL, events written by other processes arrive through
//! `LISTEN af_job_events` ([`listen_postgres`]). Both may deliver the same event: the hub drops
//! any event not newer than the last one it passed on for that job.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use af_core::JobStatus;
use af_db::jobs::{NewEvent, StoredEvent};
use af_db::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;
use utoipa::ToSchema;

/// Events a subscriber may fall behind before it must catch up from the store.
pub const CHANNEL_CAPACITY: usize = 256;

/// What the formatter said about one metric (for charts: grouping, which way is better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricInfo {
    pub name: String,
    pub label: String,
    /// `loss`, `quality`, `learning_rate` or `other`.
    pub group: String,
    /// `true` higher is better, `false` lower is better, `null` neither.
    pub higher_is_better: Option<bool>,
}

/// One event of a job's stream. Stored with a per-job sequence number `seq` (1, 2, 3, …) and
/// sent over the WebSocket as `{"type": "<variant>", "seq", "job_id", "timestamp", …fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    /// The job moved to `status` (`pending` when queued or re-queued after its worker died,
    /// `preparing`, `training`, `completed`, `failed`, `cancelled`).
    StatusChange {
        status: JobStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<JobStatus>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// An epoch (1-based) begins.
    EpochStart { epoch: u32, total_epochs: u32 },
    /// Training progress within an epoch (at most about one per second).
    BatchProgress {
        epoch: u32,
        batch: u32,
        total_batches: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        loss: Option<f64>,
        progress_percent: f64,
    },
    /// An epoch (1-based) finished and was validated; `metrics` are the formatter's names.
    EpochComplete {
        epoch: u32,
        total_epochs: u32,
        #[schema(value_type = Object)]
        metrics: BTreeMap<String, f64>,
        #[serde(default)]
        metric_info: Vec<MetricInfo>,
        epoch_time_seconds: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fitness: Option<f64>,
        progress_percent: f64,
    },
    /// Training finished and the model is registered.
    TrainingComplete {
        #[schema(value_type = Object)]
        final_metrics: BTreeMap<String, f64>,
        model_id: i64,
        model_name: String,
    },
    /// The job failed; `error` says why and what to try.
    TrainingFailed { error: String },
    /// Something worth telling the user (pretrained weights used or not, resumed, warnings).
    Log { level: String, message: String },
}

impl JobEvent {
    pub fn status(status: JobStatus, previous: Option<JobStatus>, message: impl Into<Option<String>>) -> Self {
        JobEvent::StatusChange { status, previous, message: message.into() }
    }

    pub fn info(message: impl Into<String>) -> Self {
        JobEvent::Log { level: "info".into(), message: message.into() }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        JobEvent::Log { level: "warning".into(), message: message.into() }
    }

    /// The event as stored: its type and the remaining fields.
    pub fn to_new(&self) -> NewEvent {
        let mut v = serde_json::to_value(self).expect("events serialise");
        let obj = v.as_object_mut().expect("a tagged enum serialises to an object");
        let ty = obj.remove("type").and_then(|t| t.as_str().map(str::to_string)).expect("tagged");
        NewEvent::new(ty, v)
    }

    /// Whether an event of this type (as stored) ends the job's stream.
    pub fn is_terminal_message(message: &Value) -> bool {
        match message["type"].as_str() {
            Some("training_complete" | "training_failed") => true,
            Some("status_change") => message["status"]
                .as_str()
                .and_then(|s| s.parse::<JobStatus>().ok())
                .is_some_and(JobStatus::is_terminal),
            _ => false,
        }
    }
}

/// An event ready to send: serialised once, shared by every subscriber.
#[derive(Debug)]
pub struct Published {
    pub job_id: i64,
    pub seq: i64,
    /// The message as sent (cheap to clone: reference-counted bytes).
    pub json: axum::extract::ws::Utf8Bytes,
    pub terminal: bool,
}

impl Published {
    pub fn from_stored(e: &StoredEvent) -> Self {
        let message = e.message();
        let terminal = JobEvent::is_terminal_message(&message);
        Published { job_id: e.job_id, seq: e.seq, json: message.to_string().into(), terminal }
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum HubMessage {
    Event(Arc<Published>),
    /// Events may have been lost (the cross-process listener reconnected): read the store.
    Resync,
}

struct Channel {
    tx: broadcast::Sender<HubMessage>,
    last_seq: i64,
}

/// The in-process fan-out of job events. Cheap to clone.
#[derive(Clone, Default)]
pub struct EventHub {
    channels: Arc<Mutex<HashMap<i64, Channel>>>,
}

impl EventHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes to a job's events from now on.
    pub fn subscribe(&self, job_id: i64) -> broadcast::Receiver<HubMessage> {
        let mut channels = self.channels.lock().expect("hub lock");
        channels
            .entry(job_id)
            .or_insert_with(|| Channel { tx: broadcast::channel(CHANNEL_CAPACITY).0, last_seq: 0 })
            .tx
            .subscribe()
    }

    /// Passes a stored event to the job's subscribers (if any) unless it was already passed.
    /// Never blocks.
    pub fn publish(&self, event: &StoredEvent) {
        let mut channels = self.channels.lock().expect("hub lock");
        let Some(channel) = channels.get_mut(&event.job_id) else { return };
        if channel.tx.receiver_count() == 0 {
            channels.remove(&event.job_id);
            return;
        }
        if event.seq <= channel.last_seq {
            return;
        }
        channel.last_seq = event.seq;
        let _ = channel.tx.send(HubMessage::Event(Arc::new(Published::from_stored(event))));
    }

    /// Publishes several events in order.
    pub fn publish_all<'a>(&self, events: impl IntoIterator<Item = &'a StoredEvent>) {
        for e in events {
            self.publish(e);
        }
    }

    /// Tells every subscriber to catch up from the store.
    pub fn resync_all(&self) {
        let mut channels = self.channels.lock().expect("hub lock");
        channels.retain(|_, c| c.tx.receiver_count() > 0);
        for c in channels.values() {
            let _ = c.tx.send(HubMessage::Resync);
        }
    }

    /// Jobs with at least one subscriber (tests, metrics).
    pub fn watched_jobs(&self) -> usize {
        let mut channels = self.channels.lock().expect("hub lock");
        channels.retain(|_, c| c.tx.receiver_count() > 0);
        channels.len()
    }
}

/// Follows `LISTEN af_job_events` on PostgreSQL and publishes what other processes (and this
/// one) commit, until the database is closed. After a lost connection it reconnects and tells
/// every subscriber to resync, since notifications sent meanwhile are gone.
pub async fn listen_postgres(db: Db, hub: EventHub) {
    if db.backend() != af_db::Backend::Postgres {
        return;
    }
    let mut backoff = Duration::from_millis(200);
    loop {
        if db.is_closed() {
            return;
        }
        let mut listener = match af_db::jobs::EventListener::connect(&db).await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                if db.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "cannot start the job-event listener; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        // Anything sent before LISTEN took effect is in the store: let subscribers check.
        hub.resync_all();
        loop {
            match listener.recv().await {
                Ok(Some(payload)) => handle_notification(&db, &hub, &payload).await,
                Ok(None) => {
                    tracing::warn!("job-event listener lost its connection; subscribers will resync");
                    hub.resync_all();
                }
                Err(e) => {
                    if db.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "job-event listener failed; reconnecting");
                    hub.resync_all();
                    break;
                }
            }
        }
    }
}

async fn handle_notification(db: &Db, hub: &EventHub, payload: &str) {
    let Ok(v) = serde_json::from_str::<Value>(payload) else {
        tracing::warn!(payload, "unreadable job-event notification");
        return;
    };
    let (Some(job_id), Some(seq)) = (v["job_id"].as_i64(), v["seq"].as_i64()) else { return };
    if v["by_ref"].as_bool() == Some(true) {
        match af_db::jobs::events_since(db, job_id, seq - 1, 1).await {
            Ok(events) => hub.publish_all(&events),
            Err(e) => tracing::warn!(error = %e, job_id, seq, "reading a notified event"),
        }
        return;
    }
    match StoredEvent::from_message(v) {
        Some(e) => hub.publish(&e),
        None => tracing::warn!(payload, "malformed job-event notification"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(job_id: i64, seq: i64, event: &JobEvent) -> StoredEvent {
        let n = event.to_new();
        StoredEvent { job_id, seq, ty: n.ty, payload: af_db::Json(n.payload), created_at: chrono::Utc::now() }
    }

    #[test]
    fn events_serialise_with_their_type_tag() {
        let e = JobEvent::EpochStart { epoch: 2, total_epochs: 5 };
        let n = e.to_new();
        assert_eq!((n.ty.as_str(), n.payload.clone()), ("epoch_start", json!({"epoch": 2, "total_epochs": 5})));
        let m = stored(7, 3, &e).message();
        assert_eq!((m["type"].as_str(), m["seq"].as_i64(), m["job_id"].as_i64()), (Some("epoch_start"), Some(3), Some(7)));
        // A stored event read back from its message is the same event.
        let back = StoredEvent::from_message(m.clone()).unwrap();
        assert_eq!(back.message(), m);
        let parsed: JobEvent = serde_json::from_value(m).unwrap();
        assert_eq!(parsed, e);
    }

    #[test]
    fn terminal_events_are_recognised() {
        let done = stored(1, 9, &JobEvent::TrainingComplete { final_metrics: BTreeMap::new(), model_id: 3, model_name: "m".into() });
        assert!(Published::from_stored(&done).terminal);
        let cancelled = stored(1, 9, &JobEvent::status(JobStatus::Cancelled, Some(JobStatus::Pending), None));
        assert!(Published::from_stored(&cancelled).terminal);
        let training = stored(1, 9, &JobEvent::status(JobStatus::Training, Some(JobStatus::Preparing), None));
        assert!(!Published::from_stored(&training).terminal);
    }

    #[tokio::test]
    async fn the_hub_fans_out_in_order_and_drops_repeats() {
        let hub = EventHub::new();
        let e = |seq| stored(1, seq, &JobEvent::info(format!("{seq}")));
        hub.publish(&e(1)); // no subscriber yet: dropped
        let mut a = hub.subscribe(1);
        let mut b = hub.subscribe(1);
        let mut other = hub.subscribe(2);
        for seq in [2, 3, 3, 2, 4] {
            hub.publish(&e(seq));
        }
        for rx in [&mut a, &mut b] {
            let mut got = vec![];
            while let Ok(HubMessage::Event(p)) = rx.try_recv() {
                got.push(p.seq);
            }
            assert_eq!(got, vec![2, 3, 4]);
        }
        assert!(other.try_recv().is_err());
        drop((a, b));
        assert_eq!(hub.watched_jobs(), 1);
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_instead_of_blocking_the_publisher() {
        let hub = EventHub::new();
        let mut slow = hub.subscribe(1);
        let started = std::time::Instant::now();
        for seq in 1..=(CHANNEL_CAPACITY as i64 * 4) {
            hub.publish(&stored(1, seq, &JobEvent::info("x")));
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(matches!(slow.try_recv(), Err(broadcast::error::TryRecvError::Lagged(_))));
    }
}
