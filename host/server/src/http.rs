//! The HTTP/1.1 server loop, hardened against slow and idle clients.
//!
//! `axum::serve` has no header-read timeout: a client that sends half its headers keeps its
//! connection (and a file descriptor, ~100 KB of buffers) forever, so one process could open
//! enough of them to exhaust the descriptor limit and take `/healthz` down. Here every
//! connection is watched by its own task, which knows the connection's [`Phase`]:
//!
//! - **head**: a request's headers are arriving (or, on a fresh connection, have not started):
//!   closed when they take longer than `header_read_timeout`, counted from the accept or from
//!   the first byte after the previous response;
//! - **busy**: a request is being handled: its body must arrive within `request_timeout`
//!   ([`request_deadline`]); once its response is being sent, a client that stops
//!   reading it for `idle_timeout` is closed;
//! - **idle**: a keep-alive connection between requests: closed after `idle_timeout`;
//! - **upgraded**: a WebSocket; its own protocol (pings) keeps it.
//!
//! At most `max_connections` connections are open. A connection over the cap is still
//! accepted, and the oldest connection that has no request in flight (half-sent headers or
//! idle keep-alive: the cheapest to drop and the slow-client attack's own) is closed to make
//! room, so a new client such as a health check is answered at once instead of waiting in
//! the kernel's backlog behind the attacker's connections. Only when every connection is busy
//! is the new one turned away, with a 503.
//!
//! Each request carries `ConnectInfo<SocketAddr>` (the client address, for the login rate
//! limit).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::HttpSettings;
use crate::error::AppError;

/// What a connection is doing, for its timeouts and for choosing one to close at the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request's headers since `since` (a fresh connection starts here).
    Head { since: Instant },
    /// `requests` requests are being handled or answered; `sending`: when the response last
    /// made progress, once it is being sent.
    Busy { requests: usize, sending: Option<Instant> },
    /// Between requests since `since`.
    Idle { since: Instant },
    /// Switched protocols (WebSocket): no HTTP timeouts apply.
    Upgraded,
}

/// One open connection, shared by its task, its I/O wrapper and its requests.
struct Conn {
    id: u64,
    phase: Mutex<Phase>,
    /// Woken on every phase change, so the watchdog re-reads its deadline.
    changed: Notify,
    /// Closes the connection now (it was chosen to make room at the cap).
    evict: CancellationToken,
}

impl Conn {
    fn phase(&self) -> Phase {
        *self.phase.lock().expect("phase lock")
    }

    fn set(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().expect("phase lock");
        let next = f(*phase);
        if next != *phase {
            *phase = next;
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: between requests, they are the start of the next request's headers.
    fn on_read(&self) {
        self.set(|p| match p {
            Phase::Idle { .. } => Phase::Head { since: Instant::now() },
            other => other,
        });
    }

    /// hyper has parsed a request's headers and calls the app.
    fn begin_request(&self) {
        self.set(|p| match p {
            Phase::Busy { requests, sending } => Phase::Busy { requests: requests + 1, sending },
            Phase::Upgraded => Phase::Upgraded,
            _ => Phase::Busy { requests: 1, sending: None },
        });
    }

    /// The app has answered; the response is being sent.
    fn begin_response(&self) {
        self.set(|p| match p {
            Phase::Busy { requests, .. } => Phase::Busy { requests, sending: Some(Instant::now()) },
            other => other,
        });
    }

    /// Bytes went out. Only moves the deadline later, so the watchdog need not wake.
    fn on_write(&self) {
        let mut phase = self.phase.lock().expect("phase lock");
        if let Phase::Busy { requests, sending: Some(_) } = *phase {
            *phase = Phase::Busy { requests, sending: Some(Instant::now()) };
        }
    }

    /// A request's response has been sent (or abandoned).
    fn end_request(&self) {
        self.set(|p| match p {
            Phase::Busy { requests, sending } if requests > 1 => Phase::Busy { requests: requests - 1, sending },
            Phase::Busy { .. } => Phase::Idle { since: Instant::now() },
            other => other,
        });
    }

    /// When the current phase's timeout closes the connection, if it has one.
    fn deadline(&self, settings: &HttpSettings) -> Option<Instant> {
        match self.phase() {
            Phase::Head { since } => Some(since + settings.header_read_timeout),
            Phase::Idle { since } | Phase::Busy { sending: Some(since), .. } => Some(since + settings.idle_timeout),
            Phase::Busy { sending: None, .. } | Phase::Upgraded => None,
        }
    }

    /// Whether closing it loses no request: half-sent headers or an idle keep-alive.
    fn evictable(&self) -> bool {
        matches!(self.phase(), Phase::Head { .. } | Phase::Idle { .. })
    }
}

/// The open connections, oldest first (ids grow).
struct Registry {
    conns: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    max: usize,
}

impl Registry {
    /// Registers a new connection, closing the oldest evictable one first when at the cap;
    /// `None` when every connection is busy.
    fn admit(self: &Arc<Self>) -> Option<Registration> {
        let mut conns = self.conns.lock().expect("registry lock");
        if conns.len() >= self.max {
            let victim = conns.values().find(|c| c.evictable()).map(|c| c.id)?;
            let victim = conns.remove(&victim).expect("present");
            tracing::debug!(connection = victim.id, phase = ?victim.phase(), "closing a connection to admit a new one");
            victim.evict.cancel();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            phase: Mutex::new(Phase::Head { since: Instant::now() }),
            changed: Notify::new(),
            evict: CancellationToken::new(),
        });
        conns.insert(id, conn.clone());
        Some(Registration { conn, registry: self.clone() })
    }

    fn len(&self) -> usize {
        self.conns.lock().expect("registry lock").len()
    }
}

/// A connection's place in the [`Registry`], given up when its socket is dropped (which, for
/// a WebSocket, is after the HTTP connection task has handed the socket over).
struct Registration {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.conns.lock().expect("registry lock").remove(&self.conn.id);
    }
}

/// How long, and for how many bytes, a closed connection's unread request is drained, so
/// that the client reads the response (a 413, a 408) instead of a reset.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 4 << 20;

/// The socket, telling its connection when bytes arrive.
struct TrackedStream {
    /// Always `Some` until dropped.
    inner: Option<TcpStream>,
    registration: Option<Registration>,
    /// hyper has closed the write side (it ends the connection after a response).
    shut_down: bool,
}

impl TrackedStream {
    fn new(stream: TcpStream, registration: Registration) -> Self {
        TrackedStream { inner: Some(stream), registration: Some(registration), shut_down: false }
    }

    fn io(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(self.inner.as_mut().expect("the stream is open until dropped"))
    }

    fn conn(&self) -> &Conn {
        &self.registration.as_ref().expect("registered until dropped").conn
    }
}

impl Drop for TrackedStream {
    /// Closing a socket with unread input makes the kernel send a reset, which can destroy the
    /// response the client has not read yet: after hyper's orderly close, drain the input
    /// for a moment first (still counted as an open connection, and closed at once if the cap
    /// needs room).
    fn drop(&mut self) {
        let (Some(stream), Some(registration)) = (self.inner.take(), self.registration.take()) else { return };
        if !self.shut_down {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        runtime.spawn(async move {
            let mut stream = stream;
            let mut buf = vec![0u8; 16 * 1024];
            let deadline = Instant::now() + LINGER_TIME;
            let mut drained = 0;
            while drained < LINGER_BYTES {
                tokio::select! {
                    read = tokio::time::timeout_at(deadline, tokio::io::AsyncReadExt::read(&mut stream, &mut buf)) => match read {
                        Ok(Ok(n)) if n > 0 => drained += n,
                        _ => break,
                    },
                    () = registration.conn.evict.cancelled() => break,
                }
            }
        });
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = self.io().poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn().on_read();
        }
        result
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = self.io().poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.conn().on_write();
        }
        result
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io().poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shut_down = true;
        self.io().poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let result = self.io().poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.conn().on_write();
        }
        result
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(TcpStream::is_write_vectored)
    }
}

/// Ends its request when dropped: when hyper has sent the whole response body, or when the
/// request is abandoned (the client went away, the handler was cancelled).
struct RequestGuard(Arc<Conn>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// A response body that holds its request's [`RequestGuard`].
struct GuardedBody {
    inner: Body,
    _guard: RequestGuard,
}

impl http_body::Body for GuardedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The listen backlog: deep enough that a burst of reconnects (thousands of clients whose
/// connections timed out together) is queued rather than dropped, which would cost every
/// client in it, a health check included, a one-second SYN retransmit. The kernel caps it
/// at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Descriptors kept free for everything but client connections (database, files, plugins).
const RESERVED_FDS: u64 = 256;

/// Binds `addr` with [`LISTEN_BACKLOG`].
pub fn bind(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Raises the soft open-file limit to the hard one, and returns how many connections fit
/// under it: `max_connections`, or fewer (with a warning) when the limit is too low, so that
/// the cap, not `EMFILE`, is what turns clients away.
pub fn fit_fd_limit(max_connections: usize) -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return max_connections;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        let fits = (limit.rlim_cur as u64).saturating_sub(RESERVED_FDS).max(16);
        if (max_connections as u64) > fits {
            tracing::warn!(
                max_connections,
                open_file_limit = limit.rlim_cur as u64,
                "max_connections does not fit under the open-file limit (ulimit -n); using {fits}"
            );
            return fits as usize;
        }
    }
    max_connections
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets open
/// requests finish for at most `grace`, and closes what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: HttpSettings,
    shutdown: impl std::future::Future<Output = ()> + Send,
    grace: Duration,
) {
    let registry = Arc::new(Registry { conns: Mutex::new(BTreeMap::new()), next_id: AtomicU64::new(0), max: settings.max_connections });
    let graceful = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The header-read and idle timeouts are the watchdog's (below): hyper's own header timer
    // also runs between keep-alive requests, which would make the idle timeout the header
    // timeout.
    builder.keep_alive(true).header_read_timeout(None);
    let builder = Arc::new(builder);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(registration) = registry.admit() else {
            tracing::warn!(open = registry.len(), "every connection is busy; refusing a new one with 503");
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn = registration.conn.clone();
        let io = TokioIo::new(TrackedStream::new(stream, registration));
        let service = {
            let (app, conn) = (app.clone(), conn.clone());
            hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                conn.begin_request();
                let guard = RequestGuard(conn.clone());
                req.extensions_mut().insert(ConnectInfo(remote));
                let app = app.clone();
                async move {
                    let response = app.oneshot(req.map(Body::new)).await.unwrap_or_else(|e: Infallible| match e {});
                    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                        guard.0.set(|_| Phase::Upgraded);
                    } else {
                        guard.0.begin_response();
                    }
                    Ok::<_, Infallible>(response.map(|inner| GuardedBody { inner, _guard: guard }))
                }
            })
        };
        let (builder, settings, graceful) = (builder.clone(), settings.clone(), graceful.clone());
        tracker.spawn(async move {
            let connection = builder.serve_connection(io, service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let mut draining = false;
            loop {
                // Shutting down: a connection with no request in flight has nothing to finish.
                if draining && conn.evictable() {
                    break;
                }
                let deadline = conn.deadline(&settings);
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(connection = conn.id, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = conn.evict.cancelled() => break,
                    () = graceful.cancelled(), if !draining => {
                        // Finishes the request in flight, then closes.
                        connection.as_mut().graceful_shutdown();
                        draining = true;
                    }
                    () = conn.changed.notified() => {}
                    () = sleep_until(deadline) => {
                        if conn.deadline(&settings).is_some_and(|d| d <= Instant::now()) {
                            tracing::debug!(connection = conn.id, phase = ?conn.phase(), "closing a slow or idle connection");
                            break;
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    tracing::info!(open = registry.len(), "shutting down: no new connections");
    graceful.cancel();
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!("connections still open after {grace:?}; closing them");
        for conn in registry.conns.lock().expect("registry lock").values() {
            conn.evict.cancel();
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Every connection is busy: a best-effort 503 (the socket is fresh, so the write does not
/// block), then close.
fn refuse(stream: TcpStream) {
    const BODY: &str = r#"{"error":{"code":"service_unavailable","message":"the server has too many open connections (max_connections); try again shortly","details":null}}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(response.as_bytes());
    // Whatever request already arrived is read, so the close is a FIN, not a reset.
    let mut buf = [0u8; 8192];
    let _ = stream.try_read(&mut buf);
}

/// A failed accept: a client that gave up is nothing; running out of descriptors (`EMFILE`)
/// waits a moment for connections to close instead of spinning.
async fn accept_error(e: io::Error) {
    if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Middleware: a client has `timeout` from the start of a request to send all of its body
/// (a WebSocket upgrade has none), else the request is answered with a 408; the server's own
/// work on a request is not limited (a long import is not cut off, and 408 means "the
/// request did not arrive in time", not "the server was slow"). A 408 or 413 leaves the
/// request body unread, so the connection cannot carry another request: the response says
/// `Connection: close` (and hyper then closes it) instead of the client finding out by a reset.
pub async fn request_deadline(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    let mut response = if req.headers().contains_key(header::UPGRADE) {
        next.run(req).await
    } else {
        let expired = Arc::new(AtomicBool::new(false));
        let deadline = Box::pin(tokio::time::sleep(timeout));
        let req = req.map(|inner| Body::new(DeadlineBody { inner, deadline, expired: expired.clone() }));
        let response = next.run(req).await;
        if expired.load(Ordering::Relaxed) {
            AppError::RequestTimeout(format!(
                "the request body did not arrive within the server's limit of {} s (request_timeout_seconds)",
                timeout.as_secs_f64()
            ))
            .into_response()
        } else {
            response
        }
    };
    if matches!(response.status(), StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_TIMEOUT) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that fails once its deadline has passed (and says so in `expired`, for
/// [`request_deadline`] to answer 408 whatever error the handler made of it).
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Relaxed);
            let e = io::Error::new(io::ErrorKind::TimedOut, "the request body did not arrive in time");
            return Poll::Ready(Some(Err(axum::Error::new(e))));
        }
        Poll::Pending
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use futures::StreamExt;

    fn app() -> Router {
        Router::new()
            .route("/slow", get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }))
            .route("/upload", post(|body: axum::body::Bytes| async move { body.len().to_string() }))
            .layer(axum::middleware::from_fn_with_state(Duration::from_millis(100), request_deadline))
    }

    #[tokio::test]
    async fn the_deadline_is_for_the_client_not_for_the_server() {
        // The handler's own 300 ms are not cut off by a 100 ms request timeout.
        let res = app().oneshot(Request::get("/slow").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        // A body that arrives in time is read.
        let res = app().oneshot(Request::post("/upload").body(Body::from("12345")).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        // One that trickles past the deadline is a 408 that closes the connection.
        let trickle = futures::stream::iter(0..10).then(|_| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, io::Error>(axum::body::Bytes::from_static(b"x"))
        });
        let res = app().oneshot(Request::post("/upload").body(Body::from_stream(trickle)).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(res.headers()[header::CONNECTION], "close");
        let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "request_timeout");
    }
}
