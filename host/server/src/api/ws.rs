//! `WS /api/v1/training/ws/{id}?token=…&since=…`: a job's events, live.
//!
//! The protocol, in order:
//! 1. The token (query parameter: browsers cannot set headers on a WebSocket) is checked after
//!    the upgrade; a missing, invalid or expired token, or a job the user may not see, closes
//!    the socket with code 1008 (policy violation) and a reason.
//! 2. `{"type": "snapshot", "job_id", "last_seq", "job": {…}}`: the job's current state (the
//!    same object as `GET /training/jobs/{id}`). It has no `seq` of its own.
//! 3. Every stored event with `seq > since` (default 0: the whole history), in order.
//! 4. Live events as they are stored, in order: no gaps, no duplicates. The connection
//!    subscribes before it reads the store, so nothing falls between replay and live; an
//!    event that arrives ahead of a gap, a lag notice (the client was too slow for the shared
//!    buffer) or a resync notice makes it read the missing events from the store. A slow
//!    client therefore only delays itself.
//! 5. After the job's terminal event (`training_complete`, `training_failed`, or
//!    `status_change` to `cancelled`) the server closes with 1000.
//!
//! Resume after a drop with `?since=<last seq received>`.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::training::JobResponse;
use crate::auth::BearerToken;
use crate::extract::{AppPath, AppQuery};
use crate::jobs::events::{HubMessage, JobEvent};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(job_socket))
}

/// 1008: the token or the job is not acceptable.
pub const POLICY_VIOLATION: u16 = 1008;
const NORMAL: u16 = 1000;
/// Replayed events are read from the store in pages of this size.
const PAGE: i64 = 500;
/// An idle connection pings the client and checks the store this often (a safety net for
/// notifications lost while a cross-process listener reconnected).
const IDLE_CHECK: Duration = Duration::from_secs(15);

/// The query besides `?token=` (which `auth::query_token_policy` has moved out).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// Replay only events after this sequence number [default: 0, everything].
    pub since: Option<i64>,
}

/// Follows a training job: a `snapshot` of its state, the events after `since`, then live
/// events (`status_change`, `epoch_start`, `batch_progress`, `epoch_complete`,
/// `training_complete`, `training_failed`, `log`), each with its `seq`. See `JobEvent` for
/// the message shapes. A bad or missing token closes the socket with 1008.
#[utoipa::path(get, path = "/api/v1/training/ws/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Job id"), crate::auth::QueryTokenParam, SocketQuery),
    responses((status = 101, description = "Switching to the WebSocket protocol; messages are `JobEvent`s", body = crate::jobs::events::JobEvent),
              (status = 401, description = "Not a WebSocket request and no valid token", body = crate::error::ErrorBody)))]
async fn job_socket(
    State(state): State<AppState>,
    AppPath(job_id): AppPath<i64>,
    AppQuery(q): AppQuery<SocketQuery>,
    BearerToken(token): BearerToken,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        // Not an upgrade: answer like any other endpoint (401 without a valid token).
        Err(rejection) => {
            return match authenticate(&state, token.as_deref()).await {
                Err(reason) => crate::error::AppError::Unauthorized(reason).into_response(),
                Ok(_) => crate::error::AppError::BadRequest(format!("expected a WebSocket handshake: {}", rejection.body_text())).into_response(),
            };
        }
    };
    ws.on_upgrade(move |socket| async move {
        let mut socket = socket;
        if let Err(e) = session(&state, job_id, token, q, &mut socket).await {
            tracing::debug!(job_id, error = %e, "job socket ended");
        }
    })
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) -> Result<(), axum::Error> {
    let frame = CloseFrame { code, reason: Utf8Bytes::from(reason.to_string()) };
    socket.send(Message::Close(Some(frame))).await
}

/// The user id behind the token (and whether they are an admin), or why not.
async fn authenticate(state: &AppState, token: Option<&str>) -> Result<(i64, bool), String> {
    let token = token.filter(|t| !t.is_empty()).ok_or("missing access token (add ?token=)")?;
    match crate::auth::AuthUser::from_token(state, token).await {
        Ok(user) => Ok((user.id, user.is_admin())),
        Err(crate::error::AppError::Internal(e)) => {
            tracing::warn!(error = ?e, "checking a WebSocket token failed");
            Err("the token cannot be checked now; try again".into())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Sends stored events after `last` until the store has no more; updates `last` and
/// `finished`.
async fn catch_up(state: &AppState, socket: &mut WebSocket, job_id: i64, last: &mut i64, finished: &mut bool) -> anyhow::Result<()> {
    loop {
        let events = af_db::jobs::events_since(&state.db, job_id, *last, PAGE).await?;
        let n = events.len() as i64;
        for e in events {
            let message = e.message();
            *finished |= JobEvent::is_terminal_message(&message);
            socket.send(Message::Text(Utf8Bytes::from(message.to_string()))).await?;
            *last = e.seq;
        }
        if n < PAGE {
            return Ok(());
        }
    }
}

async fn session(state: &AppState, job_id: i64, token: Option<String>, q: SocketQuery, socket: &mut WebSocket) -> anyhow::Result<()> {
    let (user_id, admin) = match authenticate(state, token.as_deref()).await {
        Ok(u) => u,
        Err(reason) => {
            close(socket, POLICY_VIOLATION, &reason).await?;
            return Ok(());
        }
    };
    if !af_db::jobs::visible_to(&state.db, job_id, user_id, admin).await? {
        close(socket, POLICY_VIOLATION, &format!("training job {job_id} not found")).await?;
        return Ok(());
    }
    // Subscribe first: whatever is stored from now on is either read below or received here.
    let mut rx = state.jobs.hub.subscribe(job_id);
    let job = af_db::jobs::get(&state.db, job_id).await?;
    let terminal_now = job.status.is_terminal();
    let last_seq = job.last_event_seq;
    let snapshot = serde_json::json!({
        "type": "snapshot",
        "job_id": job_id,
        "last_seq": last_seq,
        "job": JobResponse::detailed(state, job).await.map_err(|e| anyhow::anyhow!("{e}"))?,
    });
    socket.send(Message::Text(Utf8Bytes::from(snapshot.to_string()))).await?;
    let mut last = q.since.unwrap_or(0).max(0);
    let mut finished = false;
    catch_up(state, socket, job_id, &mut last, &mut finished).await?;
    if finished || (terminal_now && last >= last_seq) {
        close(socket, NORMAL, "the job has finished").await?;
        return Ok(());
    }
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(HubMessage::Event(p)) => {
                    if p.seq <= last {
                        continue;
                    }
                    if p.seq == last + 1 {
                        socket.send(Message::Text(p.json.clone())).await?;
                        last = p.seq;
                        finished |= p.terminal;
                    } else {
                        // Ahead of a gap: the missing ones (and this one) are in the store.
                        catch_up(state, socket, job_id, &mut last, &mut finished).await?;
                    }
                }
                Ok(HubMessage::Resync) | Err(RecvError::Lagged(_)) => {
                    catch_up(state, socket, job_id, &mut last, &mut finished).await?;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
            _ = tokio::time::sleep(IDLE_CHECK) => {
                socket.send(Message::Ping(Default::default())).await?;
                catch_up(state, socket, job_id, &mut last, &mut finished).await?;
            }
        }
        if finished {
            close(socket, NORMAL, "the job has finished").await?;
            return Ok(());
        }
    }
}
