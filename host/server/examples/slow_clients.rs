//! Slow-client attack benchmark (not a test): one process opens thousands of half-open
//! connections (half a request's headers, then silence) against a running server and holds
//! them, and measures `/healthz` on fresh connections meanwhile. With `--reconnect`, every
//! connection the server closes is opened again at once (a connection flood as well).
//!
//! ```sh
//! annotateforge serve --data-dir /tmp/af-bench &          # or a release build
//! cargo run --example slow_clients -- --url http://127.0.0.1:8000 --connections 3000 --seconds 30 [--reconnect]
//! ```
//! Bounded: `--connections` sockets at most, `--seconds` of attack, one `/healthz` every
//! `--probe-ms`; it stops by itself. Loopback only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: SocketAddr,
    connections: usize,
    seconds: u64,
    probe_ms: u64,
    reconnect: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut url = "http://127.0.0.1:8000".to_string();
    let mut a = Args { addr: "127.0.0.1:8000".parse()?, connections: 3000, seconds: 30, probe_ms: 20, reconnect: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => url = value()?,
            "--connections" => a.connections = value()?.parse()?,
            "--seconds" => a.seconds = value()?.parse()?,
            "--probe-ms" => a.probe_ms = value()?.parse()?,
            "--reconnect" => a.reconnect = true,
            other => bail!("unknown flag {other} (--url, --connections, --seconds, --probe-ms, --reconnect)"),
        }
    }
    let host_port = url.trim_start_matches("http://").trim_end_matches('/');
    a.addr = host_port.replace("localhost", "127.0.0.1").parse().with_context(|| format!("--url must be http://127.0.0.1:PORT, got {url}"))?;
    if !a.addr.ip().is_loopback() {
        bail!("--url must point at this machine (127.0.0.1), got {url}");
    }
    anyhow::ensure!(a.connections <= 20_000 && a.seconds <= 600, "at most 20000 connections and 600 s");
    Ok(a)
}

#[derive(Default)]
struct Counters {
    /// Half-open sockets open right now.
    open: AtomicUsize,
    /// Connections made, in all.
    opened: AtomicU64,
    /// Half-open sockets the server closed (timeouts, evictions).
    closed_by_server: AtomicU64,
    connect_errors: AtomicU64,
}

/// One attacker slot: connect, send half the headers, wait for the server to give up (and,
/// with `reconnect`, start again).
async fn attacker(addr: SocketAddr, until: Instant, reconnect: bool, c: Arc<Counters>) {
    let mut buf = [0u8; 512];
    while Instant::now() < until {
        let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await else {
            c.connect_errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        c.opened.fetch_add(1, Ordering::Relaxed);
        if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: ").await.is_err() {
            continue;
        }
        c.open.fetch_add(1, Ordering::Relaxed);
        // Reads return only when the server closes (or writes a refusal first).
        let closed = loop {
            match tokio::time::timeout_at(until.into(), s.read(&mut buf)).await {
                Err(_) => break false,
                Ok(Ok(0)) | Ok(Err(_)) => break true,
                Ok(Ok(_)) => continue,
            }
        };
        c.open.fetch_sub(1, Ordering::Relaxed);
        if closed {
            c.closed_by_server.fetch_add(1, Ordering::Relaxed);
        }
        if !reconnect {
            break;
        }
    }
}

/// One `/healthz` on a fresh connection; `None` when it failed or took over 5 s.
async fn probe(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").await.ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        out.starts_with(b"HTTP/1.1 200").then_some(())
    };
    tokio::time::timeout(Duration::from_secs(5), exchange).await.ok()??;
    Some(started.elapsed())
}

fn report(label: &str, h: &Histogram<u64>, failed: u64) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{label:<10} /healthz n={:<5} failed={failed:<4} p50={:.2} ms  p99={:.2} ms  max={:.2} ms",
        h.len(),
        ms(0.5),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
}

async fn probe_for(addr: SocketAddr, every: Duration, until: Instant) -> (Histogram<u64>, u64) {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    let mut failed = 0;
    let mut tick = tokio::time::interval(every);
    while Instant::now() < until {
        tick.tick().await;
        match probe(addr).await {
            Some(d) => h.record(d.as_micros() as u64).expect("in range"),
            None => failed += 1,
        }
    }
    (h, failed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = parse_args()?;
    let every = Duration::from_millis(a.probe_ms);
    probe(a.addr).await.context("the server does not answer /healthz")?;

    let (baseline, failed) = probe_for(a.addr, every, Instant::now() + Duration::from_secs(3)).await;
    report("baseline", &baseline, failed);

    let c = Arc::new(Counters::default());
    let until = Instant::now() + Duration::from_secs(a.seconds);
    let mut attackers = Vec::new();
    for _ in 0..a.connections {
        attackers.push(tokio::spawn(attacker(a.addr, until, a.reconnect, c.clone())));
    }
    // Let the attackers connect before measuring.
    tokio::time::sleep(Duration::from_secs(2).min(Duration::from_secs(a.seconds) / 2)).await;
    let progress = {
        let c = c.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                eprintln!(
                    "  half-open now {}, opened {}, closed by the server {}, connect errors {}",
                    c.open.load(Ordering::Relaxed),
                    c.opened.load(Ordering::Relaxed),
                    c.closed_by_server.load(Ordering::Relaxed),
                    c.connect_errors.load(Ordering::Relaxed)
                );
            }
        })
    };
    let peak_open = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (c, peak) = (c.clone(), peak_open.clone());
        tokio::spawn(async move {
            loop {
                peak.fetch_max(c.open.load(Ordering::Relaxed), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let (attacked, failed) = probe_for(a.addr, every, until).await;
    for t in attackers {
        let _ = t.await;
    }
    progress.abort();
    sampler.abort();
    report("attacked", &attacked, failed);
    println!(
        "attack: {} slots{} for {} s; peak half-open {}; connections opened {}; closed by the server {}; connect errors {}",
        a.connections,
        if a.reconnect { " (reconnecting)" } else { "" },
        a.seconds,
        peak_open.load(Ordering::Relaxed),
        c.opened.load(Ordering::Relaxed),
        c.closed_by_server.load(Ordering::Relaxed),
        c.connect_errors.load(Ordering::Relaxed)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (after, failed) = probe_for(a.addr, every, Instant::now() + Duration::from_secs(2)).await;
    report("after", &after, failed);
    Ok(())
}
