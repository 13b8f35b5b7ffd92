//! Job-service benchmark (not a test), all in one process on 127.0.0.1:
//!
//! - **events**: latency from the trainer's epoch end to WebSocket clients, with 1, 50 and
//!   200 clients connected to one job. Each epoch end goes the way a worker sends it: the
//!   metrics formatter plugin formats the raw `results.csv` values, the `training_metrics`
//!   row, the job's progress and the `epoch_complete` event are written in one transaction,
//!   and the event is published to the subscribers. Measured per client, from just before
//!   the formatter call to the client's receipt of the message (p50 / p99).
//! - **predict**: `POST /api/v1/models/{id}/predict` (JSON `image_id`) requests/s and
//!   p50/p99 latency with 16 concurrent clients, and one client's p50 against the engine's own
//!   single-image latency in the same run: `read_image` + `Predictor::predict_one` on the
//!   stored file (what a request has to do too; the difference is the API's overhead) and
//!   `predict_one` alone on the decoded image.
//!
//! ```sh
//! cargo run --release -p annotateforge --example bench_jobs -- [--backend sqlite|postgres|both]
//!     [--epochs 40] [--clients 1,50,200] [--requests 200] [--imgsz 640] [--skip-events] [--skip-predict]
//! ```
//! Source `scripts/env.sh` first (libtorch); PostgreSQL runs on a throwaway cluster
//! (`af_db::testing`). Results are recorded in docs/benchmarks.md (issue 6 section).

use std::sync::Arc;
use std::time::{Duration, Instant};

use af_core::TaskType;
use af_db::testing::TestDb;
use af_db::Backend;
use anyhow::{bail, Context};
use annotateforge::storage::Storage;
use annotateforge::{AppState, Config};
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

struct Args {
    backends: Vec<Backend>,
    epochs: usize,
    clients: Vec<usize>,
    requests: usize,
    concurrency: usize,
    imgsz: u32,
    events: bool,
    predict: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        backends: vec![Backend::Sqlite, Backend::Postgres],
        epochs: 40,
        clients: vec![1, 50, 200],
        requests: 200,
        concurrency: 16,
        imgsz: 640,
        events: true,
        predict: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => {
                a.backends = match value()?.as_str() {
                    "sqlite" => vec![Backend::Sqlite],
                    "postgres" => vec![Backend::Postgres],
                    "both" => vec![Backend::Sqlite, Backend::Postgres],
                    other => bail!("--backend sqlite|postgres|both, got {other}"),
                }
            }
            "--epochs" => a.epochs = value()?.parse()?,
            "--clients" => a.clients = value()?.split(',').map(|c| c.trim().parse()).collect::<Result<_, _>>()?,
            "--requests" => a.requests = value()?.parse()?,
            "--concurrency" => a.concurrency = value()?.parse()?,
            "--imgsz" => a.imgsz = value()?.parse()?,
            "--skip-events" => a.events = false,
            "--skip-predict" => a.predict = false,
            "--bench" => {}
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

struct Bench {
    state: AppState,
    addr: std::net::SocketAddr,
    token: String,
    user: i64,
    project: i64,
    _db: TestDb,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(backend: Backend) -> anyhow::Result<Bench> {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir()?;
    let mut config = Config::for_data_dir(dir.path());
    config.database_url = db.url.clone();
    config.device = af_core::Device::Cpu;
    let storage = Storage::open(dir.path())?;
    let state = AppState::with_db(config, db.db.clone(), storage)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(annotateforge::serve::serve_on(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    if backend == Backend::Postgres {
        tokio::spawn(annotateforge::jobs::events::listen_postgres(state.db.clone(), state.jobs.hub.clone()));
    }
    let http = reqwest::Client::new();
    let creds = json!({"email": "bench@example.com", "password": "password123"});
    http.post(format!("http://{addr}/api/v1/auth/register")).json(&creds).send().await?.error_for_status()?;
    let login: Value = http.post(format!("http://{addr}/api/v1/auth/login")).json(&creds).send().await?.json().await?;
    let token = login["access_token"].as_str().context("a token")?.to_string();
    let me: Value = http.get(format!("http://{addr}/api/v1/auth/me")).bearer_auth(&token).send().await?.json().await?;
    let user = me["id"].as_i64().context("an id")?;
    let project = af_db::projects::create(&state.db, Some(user), "bench", "").await?;
    Ok(Bench { state, addr, token, user, project, _db: db, _dir: dir, _stop: tx })
}

fn summary(h: &Histogram<u64>, unit_div: f64) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n={})",
        h.value_at_quantile(0.5) as f64 / unit_div,
        h.value_at_quantile(0.99) as f64 / unit_div,
        h.max() as f64 / unit_div,
        h.len()
    )
}

/// Raw metrics of one detect epoch, as the engine reports them.
fn raw_metrics(epoch: usize) -> std::collections::BTreeMap<String, f64> {
    let e = epoch as f64;
    [
        ("train/box_loss", 1.5 / e),
        ("train/cls_loss", 2.0 / e),
        ("train/dfl_loss", 1.2 / e),
        ("metrics/precision(B)", 0.5 + 0.01 * e),
        ("metrics/recall(B)", 0.4 + 0.01 * e),
        ("metrics/mAP50(B)", 0.3 + 0.01 * e),
        ("metrics/mAP50-95(B)", 0.2 + 0.01 * e),
        ("val/box_loss", 1.6 / e),
        ("val/cls_loss", 2.1 / e),
        ("val/dfl_loss", 1.3 / e),
        ("lr/pg0", 0.01),
        ("lr/pg1", 0.01),
        ("lr/pg2", 0.01),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn bench_events(b: &Bench, clients: usize, epochs: usize) -> anyhow::Result<()> {
    let config = json!({
        "task_type": "detect", "projects": [b.project], "annotation_types": ["box"], "class_mapping": {"a": 0},
        "split": {"train_ratio": 0.8, "val_ratio": 0.2}, "hyperparameters": {"epochs": epochs}
    });
    let parsed = annotateforge::jobs::config::JobConfig::parse(&config, chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let new = af_db::jobs::NewJob {
        name: format!("bench {clients}"),
        description: String::new(),
        task_type: TaskType::Detect,
        created_by: Some(b.user),
        config: serde_json::to_value(&parsed)?,
        total_epochs: epochs as i64,
        project_ids: vec![b.project],
        base_model_id: None,
    };
    let first = annotateforge::jobs::JobEvent::status(af_core::JobStatus::Pending, None, None).to_new();
    let (job, _) = af_db::jobs::create(&b.state.db, &new, &first).await?;
    let worker = "bench-worker";
    let (claimed, _) = af_db::jobs::claim(&b.state.db, worker, |_| annotateforge::jobs::JobEvent::info("claimed").to_new()).await?.context("claim")?;
    anyhow::ensure!(claimed.id == job.id, "claimed job {} instead of {}", claimed.id, job.id);
    let to_training = af_db::jobs::JobUpdate {
        from: &[af_core::JobStatus::Preparing],
        worker_id: Some(worker),
        status: Some(af_core::JobStatus::Training),
        ..Default::default()
    };
    af_db::jobs::update(&b.state.db, job.id, &to_training, None).await?.context("training")?;
    let plugins = annotateforge::jobs::pipeline::bench_plugins(&b.state, &parsed).await?;

    // Connect every client and read its snapshot and history first.
    let sent_at: Arc<std::sync::Mutex<Vec<Option<Instant>>>> = Arc::new(std::sync::Mutex::new(vec![None; epochs + 1]));
    let mut readers = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(clients);
    for _ in 0..clients {
        let url = format!("ws://{}/api/v1/training/ws/{}?token={}", b.addr, job.id, b.token);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
        let sent_at = sent_at.clone();
        let ready = ready_tx.clone();
        readers.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3).unwrap();
            let mut seen = 0usize;
            let mut ready = Some(ready);
            // The snapshot says how far the stored history goes; once the client has read up
            // to there it is following live events.
            let mut history_end = i64::MAX;
            while let Some(Ok(msg)) = ws.next().await {
                let Ok(text) = msg.to_text() else { continue };
                let v: Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                if v["type"] == "snapshot" {
                    history_end = v["last_seq"].as_i64().unwrap_or(0);
                }
                if v["seq"].as_i64().unwrap_or(0) >= history_end {
                    if let Some(r) = ready.take() {
                        let _ = r.send(()).await;
                    }
                }
                if v["type"] == "epoch_complete" {
                    let epoch = v["epoch"].as_u64().unwrap_or(0) as usize;
                    let t0 = sent_at.lock().unwrap()[epoch];
                    if let Some(t0) = t0 {
                        h.record(t0.elapsed().as_micros() as u64).unwrap();
                    }
                    seen += 1;
                    if seen == epochs {
                        break;
                    }
                }
            }
            h
        }));
    }
    drop(ready_tx);
    for _ in 0..clients {
        ready_rx.recv().await.context("a client did not get its history")?;
    }
    // One epoch end every 50 ms (far faster than real epochs: a stress, not a pace).
    let mut producer = Histogram::<u64>::new(3)?;
    for epoch in 1..=epochs {
        let t0 = Instant::now();
        sent_at.lock().unwrap()[epoch] = Some(t0);
        annotateforge::jobs::pipeline::bench_epoch_end(&b.state, worker, job.id, &plugins, epoch, epochs, raw_metrics(epoch)).await?;
        producer.record(t0.elapsed().as_micros() as u64)?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut all = Histogram::<u64>::new(3)?;
    for r in readers {
        let h = tokio::time::timeout(Duration::from_secs(60), r).await.context("a client never got every epoch")??;
        all.add(&h)?;
    }
    println!("  {clients:>3} clients: epoch end -> client {}; epoch end -> stored+published {}", summary(&all, 1000.0), summary(&producer, 1000.0));
    Ok(())
}

async fn bench_predict(b: &Bench, requests: usize, concurrency: usize, imgsz: u32) -> anyhow::Result<()> {
    // A real yolov8n detector (initialised, untrained: the cost is the same) and a 640x480 image.
    let names: Vec<String> = (0..3).map(|i| format!("class{i}")).collect();
    let spec = af_engine::nn::ModelSpec::new(TaskType::Detect, af_engine::nn::Scale::N, 3)?;
    let file = b._dir.path().join("bench-model.safetensors");
    // The bench's own libtorch work runs on threads that end before the API is measured: a
    // thread that ran parallel ops keeps an OpenMP team, and a second team on this 2-core
    // machine would slow the server's prediction thread (GNU OpenMP stops spin-waiting when
    // it manages more threads than there are cores).
    on_own_thread(|| {
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let _m = af_engine::nn::YoloModel::new(&vs.root(), spec);
        af_engine::weights::save(&vs, &file, &af_engine::weights::SaveMeta { spec: Some(spec), names: Some(names.clone()), imgsz: Some(imgsz as i64) })?;
        Ok(())
    })?;
    let key = "bench-detect.safetensors";
    let (size, sha) = b.state.storage.put_model(&file, key)?;
    let model = af_db::models::create(
        &b.state.db,
        &af_db::models::NewModel {
            training_job_id: None,
            name: "bench".into(),
            description: String::new(),
            task_type: TaskType::Detect,
            model_path: key.into(),
            model_type: spec.base_name(),
            image_size: imgsz as i64,
            classes: names.clone(),
            performance_metrics: None,
            created_by: Some(b.user),
            config: None,
            dataset: None,
            plugins: None,
            base_model_id: None,
            base_weights: None,
            file_size: Some(size as i64),
            sha256: Some(sha),
            project_ids: vec![b.project],
        },
    )
    .await?;
    let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)?;
    let accepted = annotateforge::api::images::accept_images(vec![("bench.png".into(), png.into_inner())]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let (created, _) = annotateforge::api::images::store_images(&b.state, b.project, accepted, vec![None]).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let image_id = created[0].id;

    // The engine alone: the same decoded image, the same options, one at a time.
    let model_file = b.state.storage.model_file(key)?;
    let path = b.state.storage.image_file(&created[0].storage_key)?;
    let n_single = (requests / 2).max(20);
    let (engine, engine_file) = on_own_thread(|| {
        let predictor = af_engine::predict::Predictor::load(&model_file, tch::Device::Cpu)?.with_imgsz(imgsz as i64)?;
        let pixels = af_engine::predict::read_image(&path)?;
        let opts = af_engine::predict::PredictOptions::default();
        for _ in 0..5 {
            predictor.predict_one(&pixels, &opts)?;
        }
        let mut engine = Histogram::<u64>::new(3)?;
        for _ in 0..n_single {
            let t = Instant::now();
            predictor.predict_one(&pixels, &opts)?;
            engine.record(t.elapsed().as_micros() as u64)?;
        }
        // The engine from the stored file: decode + predict, what the API also has to do per request.
        let mut engine_file = Histogram::<u64>::new(3)?;
        for _ in 0..n_single {
            let t = Instant::now();
            let pixels = af_engine::predict::read_image(&path)?;
            predictor.predict_one(&pixels, &opts)?;
            engine_file.record(t.elapsed().as_micros() as u64)?;
        }
        Ok((engine, engine_file))
    })?;

    let http = reqwest::Client::new();
    let url = format!("http://{}/api/v1/models/{}/predict", b.addr, model.id);
    let body = json!({"image_id": image_id});
    for _ in 0..5 {
        http.post(&url).bearer_auth(&b.token).json(&body).send().await?.error_for_status()?;
    }
    let mut single = Histogram::<u64>::new(3)?;
    for _ in 0..n_single {
        let t = Instant::now();
        let r = http.post(&url).bearer_auth(&b.token).json(&body).send().await?.error_for_status()?;
        let _: Value = r.json().await?;
        single.record(t.elapsed().as_micros() as u64)?;
    }
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, token, body, next) = (http.clone(), url.clone(), b.token.clone(), body.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3).unwrap();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let t = Instant::now();
                let r = http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                let _: Value = r.json().await.unwrap();
                h.record(t.elapsed().as_micros() as u64).unwrap();
            }
            h
        }));
    }
    let mut concurrent = Histogram::<u64>::new(3)?;
    for t in tasks {
        concurrent.add(&t.await?)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("  engine predict_one (yolov8n detect, decoded 640x480 -> {imgsz}): {}", summary(&engine, 1000.0));
    println!("  engine read_image + predict_one (the stored PNG):      {}", summary(&engine_file, 1000.0));
    println!("  API, 1 client:   {}", summary(&single, 1000.0));
    let p50 = |h: &Histogram<u64>| h.value_at_quantile(0.5) as f64 / 1000.0;
    println!(
        "  API overhead at p50: {:.2} ms over read+predict, {:.2} ms over predict_one alone",
        p50(&single) - p50(&engine_file),
        p50(&single) - p50(&engine)
    );
    println!(
        "  API, {concurrency} clients: {:.1} requests/s over {requests} requests; {}",
        requests as f64 / elapsed,
        summary(&concurrent, 1000.0)
    );
    Ok(())
}

/// Runs `f` on a thread of its own that has ended when this returns.
fn on_own_thread<T: Send>(f: impl FnOnce() -> anyhow::Result<T> + Send) -> anyhow::Result<T> {
    std::thread::scope(|s| s.spawn(f).join().expect("the bench thread panicked"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string();
    println!("load average at start: {}", load());
    println!(
        "machine: {} cores; libtorch threads {}; {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        tch::get_num_threads(),
        chrono::Utc::now().format("%F")
    );
    for &backend in &args.backends {
        println!("{backend:?}:");
        let b = start(backend).await?;
        if args.events {
            for &clients in &args.clients {
                bench_events(&b, clients, args.epochs).await?;
            }
        }
        if args.predict && backend == args.backends[0] {
            bench_predict(&b, args.requests, args.concurrency, args.imgsz).await?;
        }
    }
    println!("load average at end: {}", load());
    Ok(())
}
