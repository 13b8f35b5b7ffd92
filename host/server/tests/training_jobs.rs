//! Training jobs end to end, for real: a server, a real database, the real wasm plugins, real
//! tiny training on the demo shapes (imgsz 64, yolov8n, 1–5 epochs), watched over the
//! WebSocket; then the registered model predicts.
//!
//! - one job per task type (SQLite; detect also on PostgreSQL), with a reconnect in the middle
//!   that must see no gap and no duplicate;
//! - cancelling a running job stops it within about one batch;
//! - a server that restarts re-queues and finishes the job it was running (SQLite);
//! - two `annotateforge worker` processes on PostgreSQL: they never share a job, and when
//!   one is killed mid-training the other resumes its job from the last checkpoint.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use af_db::Backend;
use axum::http::StatusCode;
use common::demo::demo_project;
use common::TestApp;
use futures::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A test server whose worker runs in-process, with fast heartbeats and every batch reported.
async fn app_with_worker(backend: Backend) -> (TestApp, tokio::sync::oneshot::Sender<()>) {
    let app = TestApp::with_config(backend, tune).await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    tokio::spawn(async move {
        annotateforge::jobs::queue::run_worker(state, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (app, tx)
}

fn tune(c: &mut annotateforge::Config) {
    c.device = af_core::Device::Cpu;
    c.jobs.heartbeat_interval = Duration::from_millis(300);
    c.jobs.stale_after = Duration::from_millis(1500);
    c.jobs.poll_interval = Duration::from_millis(100);
    c.jobs.batch_event_interval = Duration::ZERO;
    c.jobs.weights_dir = c.data_dir.join("no-pretrained-weights");
}

async fn me(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/auth/me", token).await.expect(StatusCode::OK)["id"].as_i64().unwrap()
}

fn config(task: &str, project: i64, epochs: u32) -> Value {
    let types = match task {
        "classify" => json!(["image_class"]),
        "detect" => json!(["circle", "box", "polygon"]),
        _ => json!(["polygon", "circle", "box"]),
    };
    json!({
        "name": format!("{task} shapes"),
        "task_type": task,
        "projects": [project],
        "annotation_types": types,
        "class_mapping": {"circle": 0, "square": 1, "triangle": 2},
        "split": {"train_ratio": 0.75, "val_ratio": 0.25, "random_seed": 3, "strategy": "split-stratified"},
        // nbs = batch: an optimiser step every batch. With the default nbs 64 a batch of 4
        // accumulates 16 batches per step, more than these runs have, so the weights (and the
        // EMA that validation and the registered model use) would stay at their initial values.
        "hyperparameters": {"epochs": epochs, "imgsz": 64, "batch": 4, "nbs": 4, "seed": 1, "mosaic": 0.0, "warmup_epochs": 0.0}
    })
}

async fn connect(addr: SocketAddr, job: i64, token: &str, since: Option<i64>) -> Socket {
    let since = since.map(|s| format!("&since={s}")).unwrap_or_default();
    tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/training/ws/{job}?token={token}{since}")).await.unwrap().0
}

/// The next JSON message, or `None` once the server closed (with its close code).
async fn next(ws: &mut Socket, limit: Duration) -> Result<Value, Option<CloseCode>> {
    loop {
        match tokio::time::timeout(limit, ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Close(f))) => return Err(f.map(|f| f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// Reads until the server closes; returns the events (not the snapshot) and the close code.
async fn read_all(ws: &mut Socket, limit: Duration) -> (Vec<Value>, Option<CloseCode>) {
    let mut out = vec![];
    loop {
        match next(ws, limit).await {
            Ok(v) if v["type"] == "snapshot" => continue,
            Ok(v) => out.push(v),
            Err(code) => return (out, code),
        }
    }
}

/// Reads events (snapshots skipped) up to and including the first one `stop` accepts.
async fn read_until(ws: &mut Socket, limit: Duration, what: &str, stop: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut out = vec![];
    loop {
        let e = next(ws, limit).await.expect(what);
        if e["type"] == "snapshot" {
            continue;
        }
        let done = stop(&e);
        out.push(e);
        if done {
            return out;
        }
    }
}

fn seqs(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// Runs one job on the demo shapes and checks the whole stream, the job, its metrics and its
/// model; reconnects once in the middle when `reconnect`.
async fn full_job(app: &TestApp, addr: SocketAddr, token: &str, project: i64, task: &str, reconnect: bool) -> i64 {
    let job = app.post("/api/v1/training/jobs", token, config(task, project, 2)).await.expect(StatusCode::CREATED);
    let id = job["id"].as_i64().unwrap();
    let mut ws = connect(addr, id, token, None).await;
    let snapshot = next(&mut ws, Duration::from_secs(30)).await.unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    let limit = Duration::from_secs(240);
    let mut events = vec![];
    if reconnect {
        // Read until training has begun, drop the connection, resume with `since`.
        events = read_until(&mut ws, limit, "the stream goes on", |e| e["type"] == "epoch_start").await;
        drop(ws);
        let last = *seqs(&events).last().unwrap();
        ws = connect(addr, id, token, Some(last)).await;
    }
    let (rest, code) = read_all(&mut ws, limit).await;
    events.extend(rest);
    assert_eq!(code, Some(CloseCode::Normal), "{task}: the stream ends with a normal close");
    let n = events.len() as i64;
    assert_eq!(seqs(&events), (1..=n).collect::<Vec<_>>(), "{task}: every event once, in order: {events:#?}");
    // The activity log names weights files, not where the server keeps them (the test's
    // weights directory is missing, so the engine says which file it looked for).
    let data_dir = app.state.config.data_dir.display().to_string();
    for e in &events {
        assert!(!e.to_string().contains(&data_dir), "{task}: an event names a server path: {e}");
    }

    let statuses: Vec<&str> = of_type(&events, "status_change").iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["pending", "preparing", "training"], "{task}");
    let starts: Vec<u64> = of_type(&events, "epoch_start").iter().map(|e| e["epoch"].as_u64().unwrap()).collect();
    assert_eq!(starts, vec![1, 2], "{task}");
    let ends = of_type(&events, "epoch_complete");
    assert_eq!(ends.iter().map(|e| e["epoch"].as_u64().unwrap()).collect::<Vec<_>>(), vec![1, 2], "{task}");
    let headline = if task == "classify" { "top1_accuracy" } else { "map50_95" };
    for e in &ends {
        assert!(e["metrics"][headline].is_number(), "{task}: {e}");
        assert!(e["epoch_time_seconds"].as_f64().unwrap() > 0.0);
        assert!(e["metric_info"].as_array().unwrap().iter().any(|m| m["name"] == headline));
    }
    assert_eq!(ends[1]["progress_percent"], 100.0);
    let batches = of_type(&events, "batch_progress");
    assert!(!batches.is_empty(), "{task}: batch progress is streamed");
    let done = events.last().unwrap();
    assert_eq!(done["type"], "training_complete", "{task}");
    let model_id = done["model_id"].as_i64().unwrap();
    assert!(done["final_metrics"][headline].is_number());

    let job = app.get(&format!("/api/v1/training/jobs/{id}"), token).await.expect(StatusCode::OK);
    assert_eq!((job["status"].as_str(), job["current_epoch"].as_i64(), job["model_id"].as_i64()), (Some("completed"), Some(2), Some(model_id)));
    assert_eq!(job["progress_percent"], 100.0);
    assert_eq!(job["dataset"]["total_images"], 12);
    assert_eq!(job["dataset"]["train_images"].as_i64().unwrap() + job["dataset"]["val_images"].as_i64().unwrap(), 12);
    let plugins = job["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 3, "{job}");
    assert!(plugins.iter().all(|p| p["sha256"].as_str().is_some_and(|s| s.len() == 64)));
    assert!(plugins.iter().any(|p| p["name"] == "split-stratified"));
    assert_eq!(job["latest_metrics"]["epoch"], 2);
    let metrics = app.get(&format!("/api/v1/training/jobs/{id}/metrics"), token).await.expect(StatusCode::OK);
    assert_eq!(metrics.as_array().unwrap().len(), 2);
    assert!(metrics[0]["train_loss"].as_f64().unwrap() > 0.0);
    assert_ne!(metrics[0]["val_loss"], metrics[1]["val_loss"], "{task}: the validated EMA moved between epochs: {metrics}");
    let data = val_split_is_labelled(app, id, task).await;
    same_numbers_as_the_engine_cli(app, &job, &data, metrics.as_array().unwrap());

    let model = app.get(&format!("/api/v1/models/{model_id}"), token).await.expect(StatusCode::OK);
    assert_eq!((model["task_type"].as_str(), model["image_size"].as_i64()), (Some(task), Some(64)));
    assert_eq!(model["classes"], json!(["circle", "square", "triangle"]));
    assert_eq!(model["training_job_id"].as_i64(), Some(id));
    assert!(model["base_weights"].as_str().unwrap().contains("scratch"), "{model}");
    assert!(!model["base_weights"].as_str().unwrap().contains(&data_dir), "{model}");
    let images = app.get(&format!("/api/v1/projects/{project}/images"), token).await.expect(StatusCode::OK);
    let image = images["items"][0]["id"].as_i64().unwrap();
    let p = app.post(&format!("/api/v1/models/{model_id}/predict"), token, json!({"image_id": image, "confidence": 0.0})).await.expect(StatusCode::OK);
    match task {
        "classify" => assert_eq!(p["predictions"].as_array().unwrap().len(), 3),
        "detect" => assert!(p["annotations"].as_array().unwrap().iter().all(|a| a["type"] == "box")),
        _ => assert!(p["annotations"].as_array().unwrap().iter().all(|a| a["type"] == "polygon")),
    }
    assert!(!app.state.storage.job_run_dir(id).exists(), "checkpoints are removed once the model is registered");
    model_id
}

/// The split the worker wrote has labels in `val` exactly as its report counts them (a val
/// split without instances still trains, with box and DFL val losses near zero). Returns what
/// the trainer was given: `data.yaml`, or the ImageFolder root for classify.
async fn val_split_is_labelled(app: &TestApp, id: i64, task: &str) -> std::path::PathBuf {
    let dataset = af_db::jobs::dataset(&app.state.db, id).await.unwrap().expect("the job recorded its dataset");
    let root = std::path::PathBuf::from(&dataset.dataset_path);
    let report = dataset.report.expect("a dataset report").0;
    let val_instances: i64 = report["classes"].as_array().unwrap().iter().map(|c| c["instances"]["val"].as_i64().unwrap()).sum();
    assert!(dataset.val_images > 0, "{task}: {report}");
    let files = |dir: std::path::PathBuf| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    };
    if task == "classify" {
        let images: usize = files(root.join("val")).into_iter().map(|class| files(class).len()).sum();
        assert_eq!(images as i64, dataset.val_images, "{task}: images under val/<class>/");
        assert_eq!(val_instances, dataset.val_images, "{task}: one label per val image");
        return root;
    }
    let images = files(root.join("images/val"));
    assert_eq!(images.len() as i64, dataset.val_images, "{task}");
    let mut rows = 0i64;
    for image in &images {
        let label = root.join("labels/val").join(image.file_stem().unwrap()).with_extension("txt");
        let text = std::fs::read_to_string(&label).unwrap_or_else(|e| panic!("{task}: {}: {e}", label.display()));
        rows += text.lines().filter(|l| !l.trim().is_empty()).count() as i64;
    }
    assert!(rows > 0, "{task}: the val labels hold no instance");
    assert_eq!(rows, val_instances, "{task}: val label rows vs the report's val instances");
    let yaml = std::fs::read_to_string(root.join("data.yaml")).unwrap();
    assert!(yaml.contains("val: images/val"), "{yaml}");
    root.join("data.yaml")
}

/// The job's per-epoch numbers are the engine's own: `annotateforge train` (the engine CLI, a
/// separate process) on the dataset the worker wrote, with the job's stored hyperparameters,
/// reports the same train and val losses and the same headline metric for every epoch. A
/// server-side difference (the split, the labels, the hyperparameters handed over, the
/// formatter's mapping, the row written) shows up here as a mismatch.
fn same_numbers_as_the_engine_cli(app: &TestApp, job: &Value, data: &std::path::Path, rows: &[Value]) {
    let task = job["task_type"].as_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_annotateforge"));
    cmd.args(["train", "--task", task, "--device", "cpu", "--json", "--exist-ok", "--name", "run"])
        .arg("--data")
        .arg(data)
        .arg("--project")
        .arg(out.path())
        .arg("--weights-dir")
        .arg(&app.state.config.jobs.weights_dir);
    for (k, v) in job["config"]["hyperparameters"].as_object().unwrap() {
        match v {
            Value::Null => {}
            Value::String(s) => {
                cmd.arg(format!("{k}={s}"));
            }
            v => {
                cmd.arg(format!("{k}={v}"));
            }
        }
    }
    let output = cmd.stderr(Stdio::inherit()).output().expect("run annotateforge train");
    assert!(output.status.success(), "{task}: annotateforge train failed");
    let epochs: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "epoch_end")
        .collect();
    assert_eq!(epochs.len(), rows.len(), "{task}");
    let pairs: &[(&str, &str)] = match task {
        "classify" => &[("train/loss", "train_loss"), ("val/loss", "val_loss"), ("metrics/accuracy_top1", "top1_accuracy")],
        "detect" => &[
            ("train/box_loss", "train_box_loss"),
            ("train/cls_loss", "train_cls_loss"),
            ("train/dfl_loss", "train_dfl_loss"),
            ("val/box_loss", "val_box_loss"),
            ("val/cls_loss", "val_cls_loss"),
            ("val/dfl_loss", "val_dfl_loss"),
            ("metrics/mAP50-95(B)", "map50_95"),
        ],
        _ => &[
            ("train/box_loss", "train_box_loss"),
            ("train/seg_loss", "train_seg_loss"),
            ("train/cls_loss", "train_cls_loss"),
            ("train/dfl_loss", "train_dfl_loss"),
            ("val/box_loss", "val_box_loss"),
            ("val/seg_loss", "val_seg_loss"),
            ("val/cls_loss", "val_cls_loss"),
            ("val/dfl_loss", "val_dfl_loss"),
            ("metrics/mAP50-95(M)", "mask_map50_95"),
        ],
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-6);
    for (engine, row) in epochs.iter().zip(rows) {
        assert_eq!(engine["epoch"], row["epoch"], "{task}");
        for (raw, name) in pairs {
            let (want, got) = (engine["metrics"][raw].as_f64().unwrap(), row["metrics"][name].as_f64().unwrap());
            assert!(close(want, got), "{task} epoch {}: {name} is {got} on the server, the engine CLI says {raw} = {want}", row["epoch"]);
        }
        let sum = |phase: &str| -> f64 { pairs.iter().filter(|(r, _)| r.starts_with(phase) && r.ends_with("loss")).map(|(r, _)| engine["metrics"][r].as_f64().unwrap()).sum() };
        assert!(close(row["train_loss"].as_f64().unwrap(), sum("train/")), "{task}: {row}");
        assert!(close(row["val_loss"].as_f64().unwrap(), sum("val/")), "{task}: {row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_job_per_task_type_trains_streams_and_predicts() {
    let (app, _worker) = app_with_worker(Backend::Sqlite).await;
    let token = app.user("ann@example.com").await;
    let project = demo_project(&app.state, me(&app, &token).await, "shapes", 11, 12, 64).await;
    // One listener per test: stopping it closes the database pool.
    let (addr, _stop) = app.listen().await;
    full_job(&app, addr, &token, project, "detect", true).await;
    full_job(&app, addr, &token, project, "classify", false).await;
    full_job(&app, addr, &token, project, "segment", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_detect_job_trains_streams_and_predicts() {
    let (app, _worker) = app_with_worker(Backend::Postgres).await;
    tokio::spawn(annotateforge::jobs::events::listen_postgres(app.state.db.clone(), app.state.jobs.hub.clone()));
    let token = app.user("ann@example.com").await;
    let project = demo_project(&app.state, me(&app, &token).await, "shapes", 12, 12, 64).await;
    let (addr, _stop) = app.listen().await;
    let model = full_job(&app, addr, &token, project, "detect", true).await;
    // Transfer learning: a second job starts from the registered model.
    let job = app.post("/api/v1/training/jobs", &token, {
        let mut c = config("detect", project, 1);
        c["base_model"] = json!(model);
        c
    })
    .await
    .expect(StatusCode::CREATED);
    let id = job["id"].as_i64().unwrap();
    let mut ws = connect(addr, id, &token, None).await;
    let (events, _) = read_all(&mut ws, Duration::from_secs(240)).await;
    let done = events.last().unwrap();
    assert_eq!(done["type"], "training_complete", "{events:#?}");
    let child = app.get(&format!("/api/v1/models/{}", done["model_id"]), &token).await.expect(StatusCode::OK);
    assert_eq!(child["base_model_id"].as_i64(), Some(model));
    assert!(child["base_weights"].as_str().unwrap().contains(&format!("model {model}")), "{child}");
    assert!(events.iter().any(|e| e["type"] == "log" && e["message"].as_str().unwrap().contains("yolov8n.safetensors")), "{events:#?}");
}

/// Waits for a job to reach a final status; returns the job.
async fn finished(app: &TestApp, token: &str, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let job = app.get(&format!("/api/v1/training/jobs/{id}"), token).await.expect(StatusCode::OK);
        if ["completed", "failed", "cancelled"].contains(&job["status"].as_str().unwrap()) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_splitter_an_admin_made_default_is_what_the_next_job_runs_with() {
    let (app, _worker) = app_with_worker(Backend::Sqlite).await;
    let (admin, ann, _) = app.users().await;
    let project = demo_project(&app.state, me(&app, &ann).await, "shapes", 13, 12, 64).await;
    let mut cfg = config("detect", project, 1);
    cfg["split"] = json!({"train_ratio": 0.75, "val_ratio": 0.25, "random_seed": 3});

    // A bad plugin choice is refused when the job is created, naming the field.
    let mut bad = cfg.clone();
    bad["plugins"] = json!({"converter": {"name": "converter-nothing"}});
    let r = app.post("/api/v1/training/jobs", &ann, bad).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["error"]["details"]["field"], "plugins.converter.name", "{r}");

    // An admin uploads a splitter (ids divisible by 4 go to val) and makes it the default.
    let bytes = std::fs::read(af_plugin_host::builtins::test_plugin_path("af-test-split-modulo")).unwrap();
    let (content_type, body) = common::multipart("file", &[("split_modulo.wasm", &bytes)]);
    let req = axum::http::Request::builder()
        .method(axum::http::Method::POST)
        .uri("/api/v1/plugins")
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(axum::http::header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::from(body))
        .unwrap();
    let uploaded = app.send(req).await.expect(StatusCode::CREATED);
    let req = axum::http::Request::builder()
        .method(axum::http::Method::PUT)
        .uri("/api/v1/plugins/defaults/splitter")
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(json!({"plugin_id": uploaded["id"]}).to_string()))
        .unwrap();
    app.send(req).await.expect(StatusCode::OK);

    // The next job, run by the worker, records and uses it.
    let id = app.post("/api/v1/training/jobs", &ann, cfg).await.expect(StatusCode::CREATED)["id"].as_i64().unwrap();
    let job = finished(&app, &ann, id).await;
    assert_eq!(job["status"], "completed", "{job}");
    let splitter = job["plugins"].as_array().unwrap().iter().find(|p| p["kind"] == "splitter").cloned().unwrap();
    assert_eq!((&splitter["name"], &splitter["sha256"]), (&json!("split-modulo"), &uploaded["sha256"]), "{job}");
    let images: Vec<i64> = app.get(&format!("/api/v1/projects/{project}/images?per_page=100"), &ann).await.expect(StatusCode::OK)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let expected_val = images.iter().filter(|&&id| id % 4 == 0).count() as i64;
    assert!(expected_val > 0);
    assert_eq!(job["dataset"]["val_images"].as_i64(), Some(expected_val), "{job}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_cancelling_a_running_job_stops_it_within_a_batch() {
    let (app, _worker) = app_with_worker(Backend::Sqlite).await;
    let token = app.user("ann@example.com").await;
    let project = demo_project(&app.state, me(&app, &token).await, "shapes", 13, 12, 64).await;
    let (addr, _stop) = app.listen().await;
    let id = app.post("/api/v1/training/jobs", &token, config("detect", project, 50)).await.expect(StatusCode::CREATED)["id"].as_i64().unwrap();
    let mut ws = connect(addr, id, &token, None).await;
    // Wait for the second batch of the first epoch: training is under way.
    read_until(&mut ws, Duration::from_secs(120), "the stream goes on", |e| e["type"] == "batch_progress" && e["batch"].as_u64() == Some(2)).await;
    let asked = Instant::now();
    let cancelled = app.delete(&format!("/api/v1/training/jobs/{id}"), &token).await.expect(StatusCode::OK);
    let took = asked.elapsed();
    assert_eq!(cancelled["status"], "cancelled");
    let (rest, code) = read_all(&mut ws, Duration::from_secs(60)).await;
    assert_eq!(code, Some(CloseCode::Normal));
    let batches_after = of_type(&rest, "batch_progress").len();
    assert!(batches_after <= 2, "at most the batch in flight finishes: {rest:#?}");
    assert!(took < Duration::from_secs(8), "stopped in {took:?}");
    let last = rest.last().unwrap();
    assert_eq!((last["type"].as_str(), last["status"].as_str()), (Some("status_change"), Some("cancelled")));
    assert!(of_type(&rest, "epoch_complete").iter().all(|e| e["epoch"].as_u64() <= Some(1)));
    let job = app.get(&format!("/api/v1/training/jobs/{id}"), &token).await.expect(StatusCode::OK);
    assert_eq!((job["status"].as_str(), job["model_id"].as_i64(), job["cancel_requested"].as_bool()), (Some("cancelled"), None, Some(false)));
    // The worker is free again: the next job runs.
    let next_job = app.post("/api/v1/training/jobs", &token, config("classify", project, 1)).await.expect(StatusCode::CREATED)["id"].as_i64().unwrap();
    let mut ws = connect(addr, next_job, &token, None).await;
    let (events, _) = read_all(&mut ws, Duration::from_secs(240)).await;
    assert_eq!(events.last().unwrap()["type"], "training_complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_restarted_server_finishes_the_job_it_was_running() {
    let app = TestApp::with_config(Backend::Sqlite, tune).await;
    let token = app.user("ann@example.com").await;
    let project = demo_project(&app.state, me(&app, &token).await, "shapes", 14, 12, 64).await;
    let id = app.post("/api/v1/training/jobs", &token, config("classify", project, 1)).await.expect(StatusCode::CREATED)["id"].as_i64().unwrap();
    // The previous life of this server claimed it and died.
    let ev = annotateforge::jobs::JobEvent::info("claimed by the old process").to_new();
    af_db::jobs::claim(&app.state.db, "old-process", |_| ev).await.unwrap().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    tokio::spawn(annotateforge::jobs::queue::run_worker(state, async move {
        let _ = rx.await;
    }));
    let (addr, _stop) = app.listen().await;
    let mut ws = connect(addr, id, &token, None).await;
    let (events, _) = read_all(&mut ws, Duration::from_secs(240)).await;
    let statuses: Vec<&str> = of_type(&events, "status_change").iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["pending", "pending", "preparing", "training"], "{events:#?}");
    assert!(events.iter().any(|e| e["message"].as_str().is_some_and(|m| m.contains("restarted"))));
    assert_eq!(events.last().unwrap()["type"], "training_complete");
    let job = app.get(&format!("/api/v1/training/jobs/{id}"), &token).await.expect(StatusCode::OK);
    assert_eq!((job["status"].as_str(), job["attempts"].as_i64()), (Some("completed"), Some(2)));
    drop(tx);
}

/// An `annotateforge worker` process on the test's PostgreSQL database and data directory.
fn spawn_worker(app: &TestApp, name: &str) -> Child {
    let log = std::fs::File::create(app.state.storage.root().join(format!("{name}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_annotateforge"))
        .arg("worker")
        .env("DATABASE_URL", app.state.config.database_url.expose())
        .env("AF_DATA_DIR", app.state.storage.root())
        .env("AF_DEVICE", "cpu")
        .env("AF_HEARTBEAT_SECONDS", "0.3")
        .env("AF_STALE_AFTER_SECONDS", "1.5")
        .env("AF_WEIGHTS_DIR", app.state.storage.root().join("no-pretrained-weights"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start an annotateforge worker")
}

/// The worker id in a claim message (`started by worker host:pid:nonce`).
fn worker_of(message: &str) -> String {
    message.split("worker ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_default().to_string()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_killed_worker_s_job_finishes_on_another_and_no_job_runs_twice() {
    let app = TestApp::with_config(Backend::Postgres, tune).await;
    tokio::spawn(annotateforge::jobs::events::listen_postgres(app.state.db.clone(), app.state.jobs.hub.clone()));
    let token = app.user("ann@example.com").await;
    let project = demo_project(&app.state, me(&app, &token).await, "shapes", 15, 12, 64).await;
    let (addr, _stop) = app.listen().await;
    let mut a = Killed(spawn_worker(&app, "worker-a"));
    let long = app.post("/api/v1/training/jobs", &token, config("detect", project, 5)).await.expect(StatusCode::CREATED)["id"].as_i64().unwrap();
    let mut ws = connect(addr, long, &token, None).await;
    let before = read_until(&mut ws, Duration::from_secs(240), "worker A trains", |e| e["type"] == "epoch_complete" && e["epoch"].as_u64() == Some(2)).await;
    // Worker B joins while A trains: it must leave A's job alone and take the next one.
    let _b = Killed(spawn_worker(&app, "worker-b"));
    let short = app.post("/api/v1/training/jobs", &token, config("classify", project, 1)).await.expect(StatusCode::CREATED)["id"].as_i64().unwrap();
    // A dies without a chance to say anything.
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    let (after, code) = read_all(&mut ws, Duration::from_secs(300)).await;
    assert_eq!(code, Some(CloseCode::Normal));
    let mut all = before.clone();
    all.extend(after.iter().cloned());
    assert_eq!(seqs(&all), (1..=all.len() as i64).collect::<Vec<_>>(), "no gap, no duplicate across the failover");
    let statuses: Vec<(&str, &str)> =
        of_type(&all, "status_change").iter().map(|e| (e["status"].as_str().unwrap(), e["message"].as_str().unwrap_or(""))).collect();
    assert_eq!(statuses.iter().map(|s| s.0).collect::<Vec<_>>(), vec!["pending", "preparing", "training", "pending", "preparing", "training"], "{statuses:#?}");
    assert!(statuses[3].1.contains("heartbeats"), "{statuses:?}");
    let (first_worker, second_worker) = (worker_of(statuses[1].1), worker_of(statuses[4].1));
    assert_ne!(first_worker, second_worker, "another worker resumed it");
    // It resumed after the last checkpoint: no epoch before 3 ran again.
    let resumed_starts: Vec<u64> = of_type(&after, "epoch_start").iter().map(|e| e["epoch"].as_u64().unwrap()).collect();
    assert!(resumed_starts.first().is_some_and(|&e| e >= 3), "{resumed_starts:?}");
    assert_eq!(resumed_starts.last(), Some(&5));
    assert!(after.iter().any(|e| e["type"] == "log" && e["message"].as_str().unwrap().contains("resuming after epoch")), "{after:#?}");
    assert_eq!(after.last().unwrap()["type"], "training_complete");
    let job = app.get(&format!("/api/v1/training/jobs/{long}"), &token).await.expect(StatusCode::OK);
    assert_eq!((job["status"].as_str(), job["attempts"].as_i64(), job["current_epoch"].as_i64()), (Some("completed"), Some(2), Some(5)));
    assert_eq!(app.get(&format!("/api/v1/training/jobs/{long}/metrics"), &token).await.expect(StatusCode::OK).as_array().unwrap().len(), 5);

    // The short job ran exactly once, on B.
    let mut ws = connect(addr, short, &token, None).await;
    let (events, _) = read_all(&mut ws, Duration::from_secs(240)).await;
    assert_eq!(events.last().unwrap()["type"], "training_complete", "{events:#?}");
    let claims: Vec<&str> = of_type(&events, "status_change").iter().filter(|e| e["status"] == "preparing").map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(claims.len(), 1);
    assert_eq!(worker_of(claims[0]), second_worker, "B took the short job while A's was held");
    let job = app.get(&format!("/api/v1/training/jobs/{short}"), &token).await.expect(StatusCode::OK);
    assert_eq!(job["attempts"], 1);
}

/// A job that fails says why in words the user can act on, without the server's paths: a
/// base model whose weights file is damaged (the engine's error names the file it read) or
/// missing. Nothing is queued to fail later for a limit: a job over this worker's limits
/// (lowered after it was queued) fails at once, naming the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_failed_jobs_say_why_without_server_paths() {
    let (app, _worker) = app_with_worker(Backend::Sqlite).await;
    let token = app.user("ann@example.com").await;
    let ann = me(&app, &token).await;
    let project = demo_project(&app.state, ann, "shapes", 13, 8, 64).await;
    let data_dir = app.state.config.data_dir.display().to_string();
    let names = ["circle", "square", "triangle"];
    let failure = |id: i64| {
        let app = &app;
        let token = token.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let job = app.get(&format!("/api/v1/training/jobs/{id}"), &token).await.expect(StatusCode::OK);
                if job["status"].as_str().is_some_and(|s| s != "pending" && s != "preparing" && s != "training") {
                    assert_eq!(job["status"], "failed", "{job}");
                    let events = app.get(&format!("/api/v1/training/jobs/{id}/events"), &token).await.expect(StatusCode::OK);
                    let failed = events.as_array().unwrap().iter().find(|e| e["type"] == "training_failed").cloned().expect("a training_failed event");
                    assert_eq!(failed["error"], job["error_message"]);
                    return (job["error_message"].as_str().unwrap().to_string(), events.to_string());
                }
                assert!(Instant::now() < deadline, "job {id} did not fail in time: {job}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    for broken in ["damaged", "missing"] {
        let base = common::demo::untrained_model(&app.state, ann, project, af_core::TaskType::Detect, &names, 64).await;
        let key = af_db::models::get(&app.state.db, base).await.unwrap().model_path;
        let file = app.state.storage.model_file(&key).unwrap();
        if broken == "missing" {
            std::fs::remove_file(&file).unwrap();
        } else {
            std::fs::write(&file, b"not a safetensors file").unwrap();
        }
        let mut cfg = config("detect", project, 1);
        cfg["base_model"] = json!(base);
        let job = app.post("/api/v1/training/jobs", &token, cfg).await.expect(StatusCode::CREATED);
        let (reason, events) = failure(job["id"].as_i64().unwrap()).await;
        let want = if broken == "missing" { "is missing on the server" } else { "the initial weights (yolov8n.safetensors) could not be used" };
        assert!(reason.contains(want), "{broken}: {reason}");
        assert!(!reason.contains(&data_dir) && !reason.contains("/runs/") && !reason.contains("/base/"), "{broken}: {reason}");
        assert!(!events.contains(&data_dir), "{broken}: the job's events name a server path: {events}");
    }
    // A job queued past this server's limits (by a server with higher ones, or before an
    // admin lowered them) is failed by the worker that picks it up, naming the limit.
    let mut over = annotateforge::jobs::config::JobConfig::parse(&config("detect", project, 1), chrono::Utc::now()).unwrap();
    over.hyperparameters.epochs = app.state.config.limits.max_epochs + 1;
    let new = af_db::jobs::NewJob {
        name: over.name.clone(),
        description: String::new(),
        task_type: over.task_type,
        created_by: Some(ann),
        config: serde_json::to_value(&over).unwrap(),
        total_epochs: i64::from(over.epochs()),
        project_ids: over.projects.clone(),
        base_model_id: None,
    };
    let first = annotateforge::jobs::JobEvent::status(af_core::JobStatus::Pending, None, "queued".to_string()).to_new();
    let (job, _) = af_db::jobs::create(&app.state.db, &new, &first).await.unwrap();
    app.state.jobs.queued.notify_waiters();
    let (reason, _) = failure(job.id).await;
    assert!(reason.contains("hyperparameters.epochs") && reason.contains("(max_epochs)"), "{reason}");
}
