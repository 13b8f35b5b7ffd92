//! `POST /api/v1/models/{id}/export`, `GET …/exports` and `GET …/exports/{file}` on SQLite
//! and PostgreSQL with real (untrained) engine models: each format exports once per options
//! (the second request is answered from the cache), the download is the file the engine
//! wrote (ONNX protobuf, TorchScript zip, safetensors), bad options are 422s naming the
//! field, other users' models and unknown files are 404s, and deleting the model removes
//! its exports.

mod common;

use af_core::TaskType;
use af_db::{backend_tests, Backend};
use axum::http::StatusCode;
use common::demo::{demo_project, untrained_model};
use common::TestApp;
use serde_json::json;

async fn me(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/auth/me", token).await.expect(StatusCode::OK)["id"].as_i64().unwrap()
}

async fn exports_are_made_once_cached_and_downloaded(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, bob) = app.users().await;
    let ann_id = me(&app, &ann).await;
    let p = demo_project(&app.state, ann_id, "shapes", 2, 2, 64).await;
    let det = untrained_model(&app.state, ann_id, p, TaskType::Segment, &["circle", "square"], 64).await;
    let url = format!("/api/v1/models/{det}/export");

    let first = app.post(&url, &ann, json!({"format": "onnx", "dynamic": true})).await.expect(StatusCode::OK);
    assert_eq!((first["format"].as_str(), first["file"].as_str(), first["cached"].as_bool()), (Some("onnx"), Some("model-64-dynamic.onnx"), Some(false)));
    let again = app.post(&url, &ann, json!({"format": "ONNX", "dynamic": true, "imgsz": 64, "batch": 1})).await.expect(StatusCode::OK);
    assert_eq!((again["file"].clone(), again["size_bytes"].clone(), again["cached"].as_bool()), (first["file"].clone(), first["size_bytes"].clone(), Some(true)));
    let ts = app.post(&url, &ann, json!({"format": "torchscript", "imgsz": 96})).await.expect(StatusCode::OK);
    assert_eq!(ts["file"], "model-96.torchscript");
    let st = app.post(&url, &ann, json!({"format": "safetensors"})).await.expect(StatusCode::OK);
    assert_eq!(st["file"], "model-64-fp32.safetensors");

    let listed = app.get(&format!("/api/v1/models/{det}/exports"), &ann).await.expect(StatusCode::OK);
    let files: Vec<&str> = listed.as_array().unwrap().iter().map(|e| e["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["model-64-dynamic.onnx", "model-64-fp32.safetensors", "model-96.torchscript"]);

    let onnx = app.get(first["download_url"].as_str().unwrap(), &ann).await;
    assert_eq!(onnx.status, StatusCode::OK);
    assert_eq!(onnx.body.len() as u64, first["size_bytes"].as_u64().unwrap());
    assert_eq!(onnx.body[0], 0x08, "an ONNX ModelProto starts with ir_version (field 1, varint)");
    assert!(onnx.headers["content-disposition"].to_str().unwrap().contains("untrained_segment-64-dynamic.onnx"));
    let zip = app.get(ts["download_url"].as_str().unwrap(), &ann).await;
    assert_eq!(&zip.body[..2], b"PK", "TorchScript is a zip archive");
    let weights = app.get(st["download_url"].as_str().unwrap(), &ann).await;
    assert_eq!(weights.status, StatusCode::OK);

    // Not visible to others; unknown or crafted file names are 404s, never a path.
    app.post(&url, &bob, json!({"format": "onnx"})).await.expect(StatusCode::NOT_FOUND);
    app.get(first["download_url"].as_str().unwrap(), &bob).await.expect(StatusCode::NOT_FOUND);
    for bad in ["model-32.onnx", "..%2F..%2Fjwt_secret", ".hidden.onnx", "model-64-dynamic.exe"] {
        let e = app.get(&format!("/api/v1/models/{det}/exports/{bad}"), &ann).await.expect(StatusCode::NOT_FOUND);
        assert!(!e.to_string().contains(app.state.storage.root().to_str().unwrap()), "{e}");
    }

    // Deleting the model removes its exports.
    let key = af_db::models::get(&app.state.db, det).await.unwrap().model_path;
    let dir = app.state.storage.model_exports_dir(&key).unwrap();
    assert!(dir.join("model-96.torchscript").exists());
    app.delete(&format!("/api/v1/models/{det}"), &ann).await.expect(StatusCode::NO_CONTENT);
    assert!(!dir.exists());
}

async fn bad_export_options_are_422s_naming_the_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, _bob) = app.users().await;
    let ann_id = me(&app, &ann).await;
    let p = demo_project(&app.state, ann_id, "shapes", 2, 2, 64).await;
    let det = untrained_model(&app.state, ann_id, p, TaskType::Detect, &["a"], 64).await;
    let cls = untrained_model(&app.state, ann_id, p, TaskType::Classify, &["a", "b"], 64).await;
    let url = format!("/api/v1/models/{det}/export");
    for (body, field, needle) in [
        (json!({"format": "tflite"}), "format", "tflite"),
        (json!({"format": "onnx", "imgsz": 100}), "imgsz", "multiple of the model stride 32"),
        (json!({"format": "onnx", "imgsz": 0}), "imgsz", "between 1 and"),
        (json!({"format": "onnx", "half": true}), "half", "CUDA"),
        (json!({"format": "torchscript", "dynamic": true}), "dynamic", "onnx"),
        (json!({"format": "onnx", "batch": 0}), "batch", "between 1 and"),
        (json!({"format": "torchscript", "batch": 8, "imgsz": 640}), "batch", "TorchScript trace runs the model"),
    ] {
        let e = app.post(&url, &ann, body.clone()).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["error"]["details"]["field"], field, "{body}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().contains(needle), "{body}: {e}");
    }
    // An unknown key is refused too (deny_unknown_fields), and nothing was written.
    let e = app.post(&url, &ann, json!({"format": "onnx", "opset": 12})).await;
    assert!(e.status.is_client_error(), "{}", e.status);
    let listed = app.get(&format!("/api/v1/models/{det}/exports"), &ann).await.expect(StatusCode::OK);
    assert_eq!(listed, json!([]));
    // Classification models have stride 1: any size exports.
    let r = app.post(&format!("/api/v1/models/{cls}/export"), &ann, json!({"format": "onnx", "imgsz": 100})).await.expect(StatusCode::OK);
    assert_eq!(r["file"], "model-100.onnx");
}

backend_tests!(exports_are_made_once_cached_and_downloaded, bad_export_options_are_422s_naming_the_field);
