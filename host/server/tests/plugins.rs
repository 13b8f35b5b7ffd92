//! The plugin registry API on SQLite and PostgreSQL: built-ins installed on first use and made
//! the defaults, uploads validated against the worlds (bad components refused with a clear
//! 422 while the server keeps serving), admin-only writes, defaults per kind, hot-swap (a new
//! default reaches the next job's dataset; a job that resolved its plugins keeps them), and
//! the rules for disabling and deleting.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use af_core::{AnnotationData, AnnotationType, TaskType};
use af_dataset::{AnnotationRecord, ImageRecord, PrepareRequest, SplitParams};
use af_db::jobs::{JobUpdate, NewEvent, NewJob};
use af_db::{backend_tests, Backend};
use af_plugin_host::builtins;
use annotateforge::jobs::config::JobConfig;
use annotateforge::plugins::ResolvedPlugins;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{multipart, Reply, TestApp};
use serde_json::{json, Value};

fn wasm(package: &str) -> Vec<u8> {
    std::fs::read(builtins::test_plugin_path(package)).unwrap()
}

async fn upload(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> Reply {
    let (content_type, body) = multipart("file", &[(name, bytes)]);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/plugins")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

async fn put(app: &TestApp, uri: &str, token: &str, body: Value) -> Reply {
    app.call(Method::PUT, uri, Some(token), Some(body)).await
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no plugin {name} in {list}"))
}

fn message(v: &Value) -> String {
    v["error"]["message"].as_str().unwrap().to_string()
}

fn config(extra: Value) -> JobConfig {
    let mut v = json!({
        "task_type": "detect",
        "projects": [1],
        "annotation_types": ["box"],
        "class_mapping": {"a": 0, "b": 1},
        "split": {"train_ratio": 0.5, "val_ratio": 0.5, "random_seed": 3},
        "hyperparameters": {"epochs": 1, "imgsz": 64, "batch": 2}
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    JobConfig::parse(&v, chrono::Utc::now()).unwrap()
}

async fn built_in_plugins_are_installed_and_are_the_defaults(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, ann, _) = app.users().await;
    let list = app.get("/api/v1/plugins", &ann).await.expect(StatusCode::OK);
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["converter-classify", "converter-detect", "converter-segment", "metrics-ultralytics", "split-group", "split-random", "split-stratified"]
    );
    assert!(list.as_array().unwrap().iter().all(|p| p["builtin"] == true && p["enabled"] == true && p["sha256"].as_str().unwrap().len() == 64));
    let detect = by_name(&list, "converter-detect");
    assert_eq!(detect["kind"], "converter");
    assert_eq!(detect["default_for"], json!(["detect"]));
    assert_eq!(detect["task_types"], json!(["detect"]));
    assert!(detect["annotation_kinds"].as_array().unwrap().contains(&json!("circle")));
    assert_eq!(by_name(&list, "split-random")["default_for"], json!(["classify", "detect", "segment"]));
    assert_eq!(by_name(&list, "split-stratified")["is_default"], false);
    assert!(by_name(&list, "split-group")["options"].as_array().unwrap().iter().any(|o| o["name"].is_string()));

    let splitters = app.get("/api/v1/plugins?kind=splitter", &ann).await.expect(StatusCode::OK);
    assert_eq!(splitters.as_array().unwrap().len(), 3);
    app.get("/api/v1/plugins?kind=exporter", &ann).await.expect(StatusCode::UNPROCESSABLE_ENTITY);

    let defaults = app.get("/api/v1/plugins/defaults", &ann).await.expect(StatusCode::OK);
    assert_eq!(defaults.as_array().unwrap().len(), 9, "{defaults}");
    let of = |kind: &str, task: &str| defaults.as_array().unwrap().iter().find(|d| d["kind"] == kind && d["task_type"] == task).unwrap()["name"].clone();
    assert_eq!(of("converter", "segment"), "converter-segment");
    assert_eq!(of("converter", "classify"), "converter-classify");
    assert_eq!(of("formatter", "detect"), "metrics-ultralytics");

    let id = detect["id"].as_i64().unwrap();
    let one = app.get(&format!("/api/v1/plugins/{id}"), &ann).await.expect(StatusCode::OK);
    assert_eq!(one["sha256"], detect["sha256"]);
    app.get("/api/v1/plugins/99999", &ann).await.expect(StatusCode::NOT_FOUND);
    app.call(Method::GET, "/api/v1/plugins", None, None).await.expect(StatusCode::UNAUTHORIZED);

    // The job service's resolution: defaults by task, plus what the job records.
    let resolved = app.state.plugins.resolve(&app.state.db, &config(json!({}))).await.unwrap();
    let uses = resolved.uses_json();
    assert_eq!(uses.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect::<Vec<_>>(), ["converter-detect", "split-random", "metrics-ultralytics"]);
    assert_eq!(uses[0]["sha256"], detect["sha256"]);

    // A restart (a new state on the same database) installs nothing twice.
    let again = annotateforge::AppState::with_db((*app.state.config).clone(), app.state.db.clone(), app.state.storage.clone()).unwrap();
    again.plugins.ensure_builtins(&again.db).await.unwrap();
    assert_eq!(af_db::plugins::list(&again.db).await.unwrap().len(), 7);
    assert_eq!(app.get("/api/v1/plugins/defaults", &admin).await.expect(StatusCode::OK), defaults);
    // An upgrade (other bytes for a built-in's package) updates its row in place: same id,
    // so the defaults that point at it follow.
    let mut bytes = builtins::by_package("af-converter-detect").unwrap().wasm.to_vec();
    bytes.extend_from_slice(b"\0");
    let meta = json!({"task_types": ["detect"]});
    let newer = af_db::plugins::NewPlugin {
        kind: "converter",
        name: "converter-detect",
        version: "1.0.1",
        description: "",
        sha256: &"e".repeat(64),
        metadata: &meta,
        wasm: &bytes,
        package: Some("af-converter-detect"),
        uploaded_by: None,
    };
    let (row, installed) = af_db::plugins::install_builtin(&app.state.db, &newer).await.unwrap();
    assert_eq!((row.id, installed, row.version.as_str()), (id, af_db::plugins::Installed::Updated, "1.0.1"));
    assert_eq!(af_db::plugins::wasm(&app.state.db, id).await.unwrap(), bytes);
    assert_eq!(af_db::plugins::default_for(&app.state.db, "converter", TaskType::Detect).await.unwrap(), Some(id));

}

async fn uploads_are_validated_and_only_admins_write(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, ann, _) = app.users().await;
    let modulo = wasm("af-test-split-modulo");
    let r = upload(&app, &ann, "split_modulo.wasm", &modulo).await.expect(StatusCode::FORBIDDEN);
    assert!(message(&r).contains("admin"), "{r}");

    // Each bad component is a 422 that says what is wrong.
    let rejected = [
        ("notes.wasm", b"hello, not wasm".to_vec(), "not a WebAssembly file"),
        ("core.wasm", b"\0asm\x01\0\0\0".to_vec(), "core WebAssembly module, not a component"),
        ("greeter.wasm", wasm("af-test-not-a-plugin"), "implements no AnnotateForge plugin world"),
        ("future.wasm", wasm("af-test-future-version"), "targets `annotateforge:plugin/converter@0.4.0`, but this host supports version 0.3.0"),
        ("old.wasm", wasm("af-test-old-version"), "targets `annotateforge:plugin/converter@0.1.0`, but this host supports version 0.3.0"),
        ("bad_metadata.wasm", wasm("af-test-bad-metadata"), "metadata is broken on purpose"),
    ];
    for (name, bytes, expected) in &rejected {
        let r = upload(&app, &admin, name, bytes).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(message(&r).contains(expected), "{name}: {r}");
        assert_eq!(r["error"]["details"]["field"], "file");
    }
    upload(&app, &admin, "empty.wasm", b"").await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    // The server kept serving through all of that.
    app.get("/api/v1/plugins", &ann).await.expect(StatusCode::OK);

    let p = upload(&app, &admin, "split_modulo.wasm", &modulo).await.expect(StatusCode::CREATED);
    assert_eq!((p["kind"].as_str(), p["name"].as_str(), p["version"].as_str()), (Some("splitter"), Some("split-modulo"), Some("0.1.0")));
    assert_eq!((p["builtin"].as_bool(), p["is_default"].as_bool(), p["enabled"].as_bool()), (Some(false), Some(false), Some(true)));
    assert_eq!(p["size_bytes"].as_u64().unwrap() as usize, modulo.len());
    assert_eq!(p["options"][0]["name"], "modulus");
    let r = upload(&app, &admin, "again.wasm", &modulo).await.expect(StatusCode::CONFLICT);
    assert!(message(&r).contains(&format!("plugin {}", p["id"])), "{r}");
    let list = app.get("/api/v1/plugins", &ann).await.expect(StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 8);

    // Only admins change anything.
    let id = p["id"].as_i64().unwrap();
    put(&app, "/api/v1/plugins/defaults/splitter", &ann, json!({"plugin_id": id})).await.expect(StatusCode::FORBIDDEN);
    app.patch(&format!("/api/v1/plugins/{id}"), &ann, json!({"enabled": false})).await.expect(StatusCode::FORBIDDEN);
    app.delete(&format!("/api/v1/plugins/{id}"), &ann).await.expect(StatusCode::FORBIDDEN);

    // The plugin limits of the configuration are the registry's.
    let small = af_plugin_host::Limits { memory_bytes: 16 << 20, call_timeout: std::time::Duration::from_millis(300) };
    let limited = TestApp::with_config(backend, |c| c.jobs.plugin_limits = small).await;
    assert_eq!(*limited.state.plugins.host().limits(), small);

    // The OpenAPI document lists the routes.
    let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.expect(StatusCode::OK);
    for path in ["/api/v1/plugins", "/api/v1/plugins/{id}", "/api/v1/plugins/defaults", "/api/v1/plugins/defaults/{kind}"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
}

/// Images 1..=8 with one box each, half of class `a`, half `b`.
fn records(dir: &Path) -> (Vec<ImageRecord>, Vec<AnnotationRecord>) {
    let mut images = Vec::new();
    let mut anns = Vec::new();
    for id in 1..=8i64 {
        let path = dir.join(format!("img{id}.jpg"));
        std::fs::write(&path, b"not decoded by preparation").unwrap();
        images.push(ImageRecord { id, project_id: 1, path, width: 100, height: 100, class_label: None, metadata: BTreeMap::new() });
        let corners = [[10.0, 10.0], [50.0, 10.0], [50.0, 60.0], [10.0, 60.0]];
        anns.push(AnnotationRecord { id, image_id: id, annotation_type: AnnotationType::Box, data: AnnotationData::Corners { corners }, class_label: if id % 2 == 0 { "a" } else { "b" }.into() });
    }
    (images, anns)
}

/// Prepares the dataset with a job's plugins; answers the val image ids and the recorded plugins.
fn prepare(dir: &Path, name: &str, plugins: &ResolvedPlugins) -> (Vec<i64>, Vec<String>) {
    let (images, anns) = records(dir);
    let mapping = af_core::ClassMapping::from_labels(["a", "b"]).unwrap();
    let out = dir.join(name);
    let req = PrepareRequest {
        task: TaskType::Detect,
        images: &images,
        annotations: &anns,
        annotation_types: &[AnnotationType::Box],
        class_mapping: &mapping,
        class_names: None,
        split: SplitParams { train_ratio: 0.5, val_ratio: 0.5, test_ratio: 0.0, random_seed: 3 },
        converter: &plugins.converter,
        splitter: &plugins.splitter,
        out_dir: &out,
        threads: 1,
    };
    let summary = af_dataset::prepare(&req).unwrap();
    let mut val: Vec<i64> = std::fs::read_dir(out.join("images/val"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().split('_').next().unwrap().parse().unwrap())
        .collect();
    val.sort();
    (val, summary.report.plugins.iter().map(|p| p.name.clone()).collect())
}

async fn a_new_default_reaches_the_next_job_and_running_jobs_keep_theirs(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, _, _) = app.users().await;
    let (state, db) = (&app.state, &app.state.db);
    let dir = tempfile::tempdir().unwrap();

    // Job A resolves its plugins (it is "running" from here on).
    let job_a = state.plugins.resolve(db, &config(json!({}))).await.unwrap();
    assert_eq!(job_a.splitter.plugin.name(), "split-random");

    // An admin uploads a splitter and makes it the default, with no restart.
    let p = upload(&app, &admin, "split_modulo.wasm", &wasm("af-test-split-modulo")).await.expect(StatusCode::CREATED);
    let id = p["id"].as_i64().unwrap();
    let defaults = put(&app, "/api/v1/plugins/defaults/splitter", &admin, json!({"plugin_id": id})).await.expect(StatusCode::OK);
    let splitter_defaults: Vec<&Value> = defaults.as_array().unwrap().iter().filter(|d| d["kind"] == "splitter").collect();
    assert!(splitter_defaults.len() == 3 && splitter_defaults.iter().all(|d| d["plugin_id"] == id), "{defaults}");
    let got = app.get(&format!("/api/v1/plugins/{id}"), &admin).await.expect(StatusCode::OK);
    assert_eq!(got["default_for"], json!(["classify", "detect", "segment"]));

    // Job B, created after, splits with it: ids divisible by 4 go to val.
    let job_b = state.plugins.resolve(db, &config(json!({}))).await.unwrap();
    assert_eq!(job_b.splitter.plugin.name(), "split-modulo");
    let (val_b, used_b) = prepare(dir.path(), "b", &job_b);
    assert_eq!(val_b, [4, 8]);
    assert_eq!(used_b, ["converter-detect", "split-modulo"]);
    // Job A still splits with what it resolved.
    let (val_a, used_a) = prepare(dir.path(), "a", &job_a);
    assert_eq!(used_a, ["converter-detect", "split-random"]);
    assert_eq!(val_a.len(), 4);
    assert_ne!(val_a, [4, 8]);

    // Options and explicit choices: checked at resolution, errors name the config field.
    let c = state.plugins.resolve(db, &config(json!({"split": {"train_ratio": 0.5, "val_ratio": 0.5, "random_seed": 3, "options": {"modulus": 2}}}))).await.unwrap();
    assert_eq!(c.splitter.options["modulus"], 2);
    let (val_c, _) = prepare(dir.path(), "c", &c);
    assert_eq!(val_c, [2, 4, 6, 8]);
    let bad = |extra: Value| async move { state.plugins.resolve(db, &config(extra)).await.unwrap_err() };
    let field = |e: annotateforge::AppError| match e {
        annotateforge::AppError::Validation(fe) => fe.field,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(field(bad(json!({"split": {"train_ratio": 0.5, "val_ratio": 0.5, "random_seed": 3, "options": {"modulo": 2}}})).await), "split.options");
    assert_eq!(field(bad(json!({"split": {"train_ratio": 0.5, "val_ratio": 0.5, "random_seed": 3, "strategy": "split-nothing"}})).await), "split.strategy");
    assert_eq!(field(bad(json!({"plugins": {"converter": {"name": "converter-segment"}}})).await), "plugins.converter.name");
    assert_eq!(field(bad(json!({"plugins": {"converter": {"id": id}}})).await), "plugins.converter.id");
    assert_eq!(field(bad(json!({"plugins": {"formatter": {"id": 4242}}})).await), "plugins.formatter.id");
    let named = state.plugins.resolve(db, &config(json!({"split": {"train_ratio": 0.5, "val_ratio": 0.5, "random_seed": 3, "strategy": "split-stratified"}}))).await.unwrap();
    assert_eq!(named.splitter.plugin.name(), "split-stratified");
    let by_id = state.plugins.resolve(db, &config(json!({"plugins": {"splitter": {"id": id, "options": {"modulus": 3}}}}))).await.unwrap();
    assert_eq!(by_id.splitter.plugin.sha256(), p["sha256"].as_str().unwrap());

    // Setting defaults: the kind must match, task types must be supported, and a converter
    // becomes the default only for what it supports.
    let r = put(&app, "/api/v1/plugins/defaults/converter", &admin, json!({"plugin_id": id})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["error"]["details"]["field"], "plugin_id");
    put(&app, "/api/v1/plugins/defaults/exporter", &admin, json!({"plugin_id": id})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let list = app.get("/api/v1/plugins", &admin).await.expect(StatusCode::OK);
    let seg = by_name(&list, "converter-segment")["id"].as_i64().unwrap();
    let r = put(&app, "/api/v1/plugins/defaults/converter", &admin, json!({"plugin_id": seg, "task_types": ["detect"]})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message(&r).contains("does not support detect"), "{r}");
    // Back to the built-in for one task only.
    let random = by_name(&list, "split-random")["id"].as_i64().unwrap();
    put(&app, "/api/v1/plugins/defaults/splitter", &admin, json!({"plugin_id": random, "task_types": ["detect"]})).await.expect(StatusCode::OK);
    let got = app.get(&format!("/api/v1/plugins/{id}"), &admin).await.expect(StatusCode::OK);
    assert_eq!(got["default_for"], json!(["classify", "segment"]));
    assert_eq!(state.plugins.resolve(db, &config(json!({}))).await.unwrap().splitter.plugin.name(), "split-random");
}

async fn disabling_and_deleting_follow_the_rules(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, _, _) = app.users().await;
    let (state, db) = (&app.state, &app.state.db);
    let list = app.get("/api/v1/plugins", &admin).await.expect(StatusCode::OK);
    let random = by_name(&list, "split-random")["id"].as_i64().unwrap();
    let stratified = by_name(&list, "split-stratified")["id"].as_i64().unwrap();

    // Built-ins stay; defaults can be neither deleted nor disabled.
    let r = app.delete(&format!("/api/v1/plugins/{stratified}"), &admin).await.expect(StatusCode::CONFLICT);
    assert!(message(&r).contains("built in"), "{r}");
    let r = app.patch(&format!("/api/v1/plugins/{random}"), &admin, json!({"enabled": false})).await.expect(StatusCode::CONFLICT);
    assert!(message(&r).contains("default"), "{r}");

    // A disabled plugin cannot be chosen or made a default; enabled again, it can.
    let off = app.patch(&format!("/api/v1/plugins/{stratified}"), &admin, json!({"enabled": false})).await.expect(StatusCode::OK);
    assert_eq!(off["enabled"], false);
    let strategy = json!({"split": {"train_ratio": 0.5, "val_ratio": 0.5, "random_seed": 3, "strategy": "split-stratified"}});
    let e = state.plugins.resolve(db, &config(strategy.clone())).await.unwrap_err();
    assert!(e.to_string().contains("disabled"), "{e}");
    put(&app, "/api/v1/plugins/defaults/splitter", &admin, json!({"plugin_id": stratified})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.patch(&format!("/api/v1/plugins/{stratified}"), &admin, json!({"enabled": true})).await.expect(StatusCode::OK);
    state.plugins.resolve(db, &config(strategy)).await.unwrap();

    // An uploaded plugin in use by a running job is kept until the job ends.
    let p = upload(&app, &admin, "split_modulo.wasm", &wasm("af-test-split-modulo")).await.expect(StatusCode::CREATED);
    let id = p["id"].as_i64().unwrap();
    let job_config = config(json!({"plugins": {"splitter": {"id": id}}}));
    let new_job = NewJob {
        name: "uses modulo".into(),
        description: String::new(),
        task_type: TaskType::Detect,
        created_by: None,
        config: serde_json::to_value(&job_config).unwrap(),
        total_epochs: 1,
        project_ids: vec![],
        base_model_id: None,
    };
    let (job, _) = af_db::jobs::create(db, &new_job, &NewEvent::new("created", json!({}))).await.unwrap();
    // Queued: not running yet, so not in use.
    assert!(state.plugins.jobs_using(db, &af_db::plugins::get(db, id).await.unwrap()).await.unwrap().is_empty());
    af_db::jobs::claim(db, "worker-1", |_| NewEvent::new("status_change", json!({}))).await.unwrap().unwrap();
    // Preparing, plugins not yet recorded: its config's explicit choice counts.
    let r = app.delete(&format!("/api/v1/plugins/{id}"), &admin).await.expect(StatusCode::CONFLICT);
    assert!(message(&r).contains(&format!("[{}]", job.id)), "{r}");
    // Recorded: what it recorded counts.
    let uses = state.plugins.resolve(db, &job_config).await.unwrap().uses_json();
    let update = JobUpdate { from: &[af_core::JobStatus::Preparing], worker_id: Some("worker-1"), plugins: Some(&uses), ..Default::default() };
    af_db::jobs::update(db, job.id, &update, None).await.unwrap().unwrap();
    app.delete(&format!("/api/v1/plugins/{id}"), &admin).await.expect(StatusCode::CONFLICT);
    let done = JobUpdate { from: &[af_core::JobStatus::Preparing], status: Some(af_core::JobStatus::Failed), release: true, completed: true, ..Default::default() };
    af_db::jobs::update(db, job.id, &done, None).await.unwrap().unwrap();

    app.delete(&format!("/api/v1/plugins/{id}"), &admin).await.expect(StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/plugins/{id}"), &admin).await.expect(StatusCode::NOT_FOUND);
    app.delete(&format!("/api/v1/plugins/{id}"), &admin).await.expect(StatusCode::NOT_FOUND);
    // A job naming it now fails resolution, naming the field.
    let e = state.plugins.resolve(db, &job_config).await.unwrap_err();
    assert!(e.to_string().contains(&format!("no plugin {id}")), "{e}");
}

/// An uploaded converter that misbehaves in a job's preparation is stopped with an error
/// naming it and what it did, within the configured budget, while the server keeps serving.
async fn a_hostile_uploaded_plugin_is_stopped_while_the_server_serves(backend: Backend) {
    let limits = af_plugin_host::Limits { memory_bytes: 32 << 20, call_timeout: std::time::Duration::from_millis(500) };
    let app = TestApp::with_config(backend, |c| c.jobs.plugin_limits = limits).await;
    let (admin, ann, _) = app.users().await;
    upload(&app, &admin, "hostile.wasm", &wasm("af-test-hostile-converter")).await.expect(StatusCode::CREATED);
    let dir = tempfile::tempdir().unwrap();
    for (mode, expected) in [
        ("loop", "running past its time budget of 500ms"),
        ("alloc", "more than its memory limit of 33554432 bytes"),
        ("trap", "hostile plugin panics on purpose"),
        ("bad-class", "class id 7, but there are only 2 classes"),
    ] {
        let chosen = config(json!({"plugins": {"converter": {"name": "hostile-converter", "options": {"mode": mode}}}}));
        let plugins = app.state.plugins.resolve(&app.state.db, &chosen).await.unwrap();
        let out = dir.path().join(mode);
        let path = dir.path().to_path_buf();
        let started = std::time::Instant::now();
        let job = tokio::task::spawn_blocking(move || {
            let (images, anns) = records(&path);
            let mapping = af_core::ClassMapping::from_labels(["a", "b"]).unwrap();
            let req = PrepareRequest {
                task: TaskType::Detect,
                images: &images,
                annotations: &anns,
                annotation_types: &[AnnotationType::Box],
                class_mapping: &mapping,
                class_names: None,
                split: SplitParams { train_ratio: 0.5, val_ratio: 0.5, test_ratio: 0.0, random_seed: 3 },
                converter: &plugins.converter,
                splitter: &plugins.splitter,
                out_dir: &out,
                threads: 1,
            };
            af_dataset::prepare(&req).map(|_| ()).unwrap_err().to_string()
        });
        // The API answers while the plugin runs.
        app.get("/api/v1/plugins", &ann).await.expect(StatusCode::OK);
        let err = job.await.unwrap();
        assert!(err.contains("`hostile-converter` 0.1.0") && err.contains(expected), "{mode}: {err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{mode} took {:?}", started.elapsed());
    }
    app.get("/api/v1/plugins", &ann).await.expect(StatusCode::OK);
}

backend_tests!(
    a_hostile_uploaded_plugin_is_stopped_while_the_server_serves,
    built_in_plugins_are_installed_and_are_the_defaults,
    uploads_are_validated_and_only_admins_write,
    a_new_default_reaches_the_next_job_and_running_jobs_keep_theirs,
    disabling_and_deleting_follow_the_rules,
);
