//! API load benchmark (not a test): upload and annotation-write throughput and list latency
//! under concurrent clients, against a running server.
//!
//! ```sh
//! cargo run --release --example api_load -- --url http://127.0.0.1:8000 --clients 50
//! ```
//! `scripts/bench-api.sh` starts a server on SQLite and on a throwaway PostgreSQL cluster and
//! runs this against each. Every phase is bounded in requests; nothing runs open-ended.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

struct Args {
    url: String,
    clients: usize,
    images: usize,
    annotations: usize,
    list_requests: usize,
    label: String,
    /// A shell command run after the write phases and before the list phases (the bench
    /// script passes PostgreSQL's `ANALYZE`, which autovacuum would run within its naptime).
    before_lists: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        url: "http://127.0.0.1:8000".into(),
        clients: 50,
        images: 500,
        annotations: 10_000,
        list_requests: 3_000,
        label: "server".into(),
        before_lists: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--clients" => a.clients = value()?.parse()?,
            "--images" => a.images = value()?.parse()?,
            "--annotations" => a.annotations = value()?.parse()?,
            "--list-requests" => a.list_requests = value()?.parse()?,
            "--label" => a.label = value()?,
            "--before-lists" => a.before_lists = Some(value()?),
            other => bail!("unknown flag {other} (--url, --clients, --images, --annotations, --list-requests, --label, --before-lists)"),
        }
    }
    // Loopback only: this is a load generator.
    let host = a.url.trim_start_matches("http://").split(['/', ':']).next().unwrap_or_default().to_string();
    if !["127.0.0.1", "localhost", "[::1]"].contains(&host.as_str()) {
        bail!("--url must point at this machine (127.0.0.1 / localhost), got {}", a.url);
    }
    Ok(a)
}

fn png(i: usize) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x as usize * 3 + i) as u8, (y as usize + i / 256) as u8, (i % 251) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

struct Phase {
    name: String,
    requests: usize,
    items: usize,
    elapsed: Duration,
    hist: Histogram<u64>,
    errors: usize,
}

impl Phase {
    fn row(&self) -> String {
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            self.name,
            self.requests,
            self.items as f64 / self.elapsed.as_secs_f64(),
            ms(0.5),
            ms(0.99),
            self.hist.max() as f64 / 1000.0,
            self.errors
        )
    }
}

/// Runs `total` requests over `clients` concurrent workers; `make(i)` performs request `i` and
/// says how many items it handled (or fails).
async fn run_phase<F, Fut>(name: &str, clients: usize, total: usize, make: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<usize>> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (make, next) = (make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let (mut items, mut errors) = (0, 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                match make(i).await {
                    Ok(n) => items += n,
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("request {i} failed: {e:#}");
                        }
                        errors += 1;
                    }
                }
                hist.record(t.elapsed().as_micros().max(1) as u64).unwrap();
            }
            (hist, items, errors)
        }));
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let (mut items, mut errors) = (0, 0);
    for t in tasks {
        let (h, n, e) = t.await.unwrap();
        hist.add(h).unwrap();
        items += n;
        errors += e;
    }
    Phase { name: name.into(), requests: total, items, elapsed: start.elapsed(), hist, errors }
}

async fn check(res: reqwest::Response) -> anyhow::Result<Value> {
    let status = res.status();
    let body = res.text().await?;
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.clients).timeout(Duration::from_secs(60)).build()?;
    let base = args.url.trim_end_matches('/').to_string();
    check(http.get(format!("{base}/healthz")).send().await?).await.context("is the server running?")?;

    let email = format!("bench-{}@example.com", std::process::id());
    let creds = json!({"email": email, "password": "benchmark-password"});
    check(http.post(format!("{base}/api/v1/auth/register")).json(&creds).send().await?).await?;
    let login = check(http.post(format!("{base}/api/v1/auth/login")).json(&creds).send().await?).await?;
    let token = login["access_token"].as_str().context("token")?.to_string();
    let project = check(http.post(format!("{base}/api/v1/projects")).bearer_auth(&token).json(&json!({"name": "load test"})).send().await?).await?;
    let pid = project["id"].as_i64().context("project id")?;

    let pngs: Arc<Vec<Vec<u8>>> = Arc::new((0..args.images).map(png).collect());
    let ids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, t, b) = (http.clone(), token.clone(), base.clone());
    let (p2, ids2) = (pngs.clone(), ids.clone());
    let upload = run_phase("upload (1 PNG 64×64 per request)", args.clients, args.images, move |i| {
        let (h, t, b, p, ids) = (h.clone(), t.clone(), b.clone(), p2.clone(), ids2.clone());
        async move {
            let form = reqwest::multipart::Form::new().part("files", reqwest::multipart::Part::bytes(p[i].clone()).file_name(format!("{i}.png")));
            let v = check(h.post(format!("{b}/api/v1/projects/{pid}/images")).bearer_auth(&t).multipart(form).send().await?).await?;
            let made = v["images"].as_array().map(|a| a.len()).unwrap_or(0);
            if let Some(id) = v["images"][0]["id"].as_i64() {
                ids.lock().unwrap().push(id);
            }
            Ok(made)
        }
    })
    .await;
    let ids: Arc<Vec<i64>> = Arc::new(ids.lock().unwrap().clone());
    if ids.is_empty() {
        bail!("no image was uploaded");
    }

    let (h, t, b, ids2) = (http.clone(), token.clone(), base.clone(), ids.clone());
    let write = run_phase("annotation create (POST, 1 per request)", args.clients, args.annotations, move |i| {
        let (h, t, b, ids) = (h.clone(), t.clone(), b.clone(), ids2.clone());
        async move {
            let img = ids[i % ids.len()];
            let x = (i % 40) as f64;
            let body = match i % 3 {
                0 => json!({"type": "box", "data": {"corners": [[x, 2], [x + 20.0, 2], [x + 20.0, 30], [x, 30]]}, "class_label": "box"}),
                1 => json!({"type": "circle", "data": {"x": x + 10.0, "y": 30, "size": 8}, "class_label": "circle"}),
                _ => json!({"type": "polygon", "data": {"points": [[x, 40], [x + 15.0, 40], [x + 7.0, 60]]}, "class_label": "triangle"}),
            };
            check(h.post(format!("{b}/api/v1/images/{img}/annotations")).bearer_auth(&t).json(&body).send().await?).await?;
            Ok(1)
        }
    })
    .await;

    if let Some(cmd) = &args.before_lists {
        let status = std::process::Command::new("sh").arg("-c").arg(cmd).status().context("running --before-lists")?;
        if !status.success() {
            bail!("--before-lists `{cmd}` failed: {status}");
        }
    }

    let total_annotations = check(http.get(format!("{base}/api/v1/projects/{pid}/annotations?per_page=1")).bearer_auth(&token).send().await?).await?["total"]
        .as_i64()
        .unwrap_or(0);
    let pages = (total_annotations.max(1) as usize).div_ceil(100);
    let (h, t, b) = (http.clone(), token.clone(), base.clone());
    let list_ann = run_phase("GET project annotations (100/page, random page)", args.clients, args.list_requests, move |i| {
        let (h, t, b) = (h.clone(), t.clone(), b.clone());
        async move {
            let page = 1 + (i * 7919) % pages;
            let v = check(h.get(format!("{b}/api/v1/projects/{pid}/annotations?page={page}&per_page=100")).bearer_auth(&t).send().await?).await?;
            Ok(v["items"].as_array().map(|a| a.len()).unwrap_or(0))
        }
    })
    .await;
    let image_pages = ids.len().div_ceil(50);
    let (h, t, b) = (http.clone(), token.clone(), base.clone());
    let list_img = run_phase("GET project images (50/page with counts)", args.clients, args.list_requests, move |i| {
        let (h, t, b) = (h.clone(), t.clone(), b.clone());
        async move {
            let page = 1 + (i * 31) % image_pages;
            let v = check(h.get(format!("{b}/api/v1/projects/{pid}/images?page={page}&per_page=50")).bearer_auth(&t).send().await?).await?;
            Ok(v["items"].as_array().map(|a| a.len()).unwrap_or(0))
        }
    })
    .await;
    let (h, t, b, ids2) = (http.clone(), token.clone(), base.clone(), ids.clone());
    let list_img_ann = run_phase("GET image annotations", args.clients, args.list_requests, move |i| {
        let (h, t, b, ids) = (h.clone(), t.clone(), b.clone(), ids2.clone());
        async move {
            let v = check(h.get(format!("{b}/api/v1/images/{}/annotations", ids[(i * 13) % ids.len()])).bearer_auth(&t).send().await?).await?;
            Ok(v.as_array().map(|a| a.len()).unwrap_or(0))
        }
    })
    .await;

    println!("\n{} — {} concurrent clients, {} annotations in the project\n", args.label, args.clients, total_annotations);
    println!("| phase | requests | items/s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    let phases = [upload, write, list_ann, list_img, list_img_ann];
    for p in &phases {
        println!("{}", p.row());
    }
    if phases.iter().any(|p| p.errors > 0) {
        bail!("some requests failed");
    }
    Ok(())
}
