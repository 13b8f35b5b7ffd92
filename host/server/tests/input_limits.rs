//! Hostile input, on SQLite and PostgreSQL: import paths that lead outside the archive, images
//! over the pixel limit (at upload, import, and predict on images stored before the limit),
//! annotation limits (points, count, absurd coordinates), and the `custom_model` source that
//! only the server may set (through a signed prediction).

mod common;

use std::io::Write;

use af_core::{AnnotationSource, AnnotationType, TaskType};
use af_db::{backend_tests, Backend};
use annotateforge::jobs::inference::{PredictResponse, PredictTiming, PredictedAnnotation};
use annotateforge::storage::Storage;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use annotateforge::imagefile::testing::png_header_only;
use common::{import_zip, png, TestApp};
use serde_json::{json, Value};

fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}


async fn image_count(app: &TestApp, token: &str, project: i64) -> i64 {
    app.get(&format!("/api/v1/projects/{project}/images"), token).await.expect(StatusCode::OK)["total"].as_i64().unwrap()
}


/// A COCO `file_name` that climbs out of the unpacked archive (to another user's stored image,
/// which exists, or to a name that does not) or is absolute: skipped with one reason that
/// does not say which, and nothing imported.
async fn import_paths_outside_the_archive_are_refused_alike(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, bob) = app.users().await;
    let bobs = app.project(&bob, "bob's").await;
    let secret = png(20, 20, 42);
    let up = app.upload(&bob, bobs, &[("secret.png", &secret)]).await.expect(StatusCode::CREATED);
    let sha = up["images"][0]["sha256"].as_str().unwrap().to_string();
    let key = Storage::image_key(&sha, "png");
    let stored = app.state.storage.image_file(&key).unwrap();
    assert!(stored.exists());
    let missing_key = Storage::image_key(&"0".repeat(64), "png");

    // The archive unpacks to <data>/tmp/import-*/data, so ../../../ is the data directory.
    let names = [
        format!("../../../images/{key}"),
        format!("../../../images/{missing_key}"),
        std::fs::canonicalize(&stored).unwrap().to_string_lossy().to_string(),
        "/definitely/not/here.png".to_string(),
        format!("images/../../../../images/{key}"),
    ];
    let images: Vec<Value> = names.iter().enumerate().map(|(i, n)| json!({"id": i + 1, "file_name": n})).collect();
    let annotations: Vec<Value> = (0..names.len()).map(|i| json!({"id": 100 + i, "image_id": i + 1, "category_id": 1, "bbox": [1, 1, 5, 5]})).collect();
    let coco = json!({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "x"}]});
    let ann_p = app.project(&ann, "ann's").await;
    let report = import_zip(&app, &ann, ann_p, zip(&[("annotations.json", coco.to_string().into_bytes())]), None).await.expect(StatusCode::OK);
    assert_eq!((report["images_imported"].as_i64(), report["images_skipped"].as_i64()), (Some(0), Some(names.len() as i64)), "{report}");
    let reasons: Vec<&str> =
        report["skipped"].as_array().unwrap().iter().filter(|s| s["kind"] == "image").map(|s| s["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), names.len());
    assert!(reasons.iter().all(|r| *r == reasons[0]), "one reason whether or not the target exists: {reasons:?}");
    // The items echo the names the archive gave; the reasons name no server path.
    let root = app.state.storage.root().to_string_lossy().to_string();
    assert!(reasons.iter().all(|r| !r.contains(&root) && !r.contains("/tmp")), "no server path in a reason: {reasons:?}");
    assert_eq!(image_count(&app, &ann, ann_p).await, 0, "nothing imported");

    // The same names next to a real image: that one is imported, the rest still refused.
    let coco = json!({
        "images": [{"id": 1, "file_name": format!("../../../images/{key}")}, {"id": 2, "file_name": "a.png"}],
        "annotations": [],
        "categories": []
    });
    let report = import_zip(&app, &ann, ann_p, zip(&[("ann/coco.json", coco.to_string().into_bytes()), ("ann/a.png", png(8, 8, 1))]), None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(report["images_imported"], 1, "{report}");
    assert_eq!(report["skipped"][0]["reason"].as_str(), Some(reasons[0]));
    let listed = app.get(&format!("/api/v1/projects/{ann_p}/images"), &ann).await.expect(StatusCode::OK);
    assert!(listed["items"].as_array().unwrap().iter().all(|i| i["sha256"] != sha.as_str()), "bob's image never reaches ann");
}

/// The admin's server-path import follows the same rule: the directory is the root; names
/// above it, absolute names and links out of it are skipped alike.
async fn server_path_imports_stay_inside_their_directory(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, _ann, _bob) = app.users().await;
    let p = app.project(&admin, "p").await;
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret.png"), png(12, 12, 5)).unwrap();
    let dir = outer.path().join("dataset");
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::write(dir.join("images/a.png"), png(12, 12, 6)).unwrap();
    let mut names = vec!["../secret.png".to_string(), "../missing.png".to_string(), outer.path().join("secret.png").to_string_lossy().to_string()];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outer.path().join("secret.png"), dir.join("images/link.png")).unwrap();
        std::os::unix::fs::symlink(outer.path().join("missing.png"), dir.join("images/dangling.png")).unwrap();
        names.extend(["images/link.png".to_string(), "images/dangling.png".to_string()]);
    }
    names.push("images/a.png".into());
    let images: Vec<Value> = names.iter().enumerate().map(|(i, n)| json!({"id": i + 1, "file_name": n})).collect();
    std::fs::write(dir.join("coco.json"), json!({"images": images, "annotations": [], "categories": []}).to_string()).unwrap();
    let report = app.post(&format!("/api/v1/projects/{p}/import"), &admin, json!({"path": dir.to_string_lossy()})).await.expect(StatusCode::OK);
    assert_eq!(report["images_imported"], 1, "{report}");
    let reasons: Vec<&str> = report["skipped"].as_array().unwrap().iter().map(|s| s["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), names.len() - 1, "{report}");
    assert!(reasons.iter().all(|r| *r == reasons[0]), "{reasons:?}");
    let listed = app.get(&format!("/api/v1/projects/{p}/images"), &admin).await.expect(StatusCode::OK);
    assert_eq!(listed["items"][0]["filename"], "images/a.png");
}

/// Upload: over `max_image_pixels` is a 422 naming the limit, decided from the header (the
/// file's pixel data is truncated, so only a header check names its size), nothing stored.
async fn uploads_over_the_pixel_limit_are_refused_from_the_header(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, _bob) = app.users().await;
    let p = app.project(&ann, "p").await;
    let huge = png_header_only(20_000, 20_000);
    let refused = app.upload(&ann, p, &[("ok.png", &png(8, 8, 1)), ("huge.png", &huge)]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("huge.png") && message.contains("20000×20000 = 400 megapixels") && message.contains("max_image_pixels"), "{message}");
    assert_eq!(refused["error"]["details"]["limit"], "max_image_pixels");
    assert_eq!(refused["error"]["details"]["max_image_pixels"], 8192 * 8192);
    assert_eq!(image_count(&app, &ann, p).await, 0);

    // A lowered limit applies to real images, at upload and at import alike.
    let small = TestApp::with_config(backend, |c| c.limits.max_image_pixels = 100 * 100).await;
    let (_admin, ann, _bob) = small.users().await;
    let p = small.project(&ann, "p").await;
    small.upload(&ann, p, &[("fits.png", &png(100, 100, 1))]).await.expect(StatusCode::CREATED);
    let refused = small.upload(&ann, p, &[("wide.png", &png(101, 100, 2))]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused["error"]["message"].as_str().unwrap().contains("101×100 = 10100 pixels"), "{refused}");
    let archive = zip(&[("train/cat/big.png", png(120, 100, 3)), ("train/cat/ok.png", png(50, 50, 4))]);
    let report = import_zip(&small, &ann, p, archive, None).await.expect(StatusCode::OK);
    assert_eq!(report["images_imported"], 1, "{report}");
    let reason = report["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("max_image_pixels") && report["skipped"][0]["item"] == "train/cat/big.png", "{report}");
}

/// Registers a model row for `project` (no weights: the requests below stop before loading).
async fn model_for(app: &TestApp, token: &str, project: i64) -> i64 {
    let me = app.get("/api/v1/auth/me", token).await.expect(StatusCode::OK);
    let m = af_db::models::create(
        &app.state.db,
        &af_db::models::NewModel {
            training_job_id: None,
            name: "m".into(),
            description: String::new(),
            task_type: TaskType::Detect,
            model_path: "models/none.safetensors".into(),
            model_type: "yolov8n".into(),
            image_size: 64,
            classes: vec!["x".into()],
            performance_metrics: None,
            created_by: me["id"].as_i64(),
            config: None,
            dataset: None,
            plugins: None,
            base_model_id: None,
            base_weights: None,
            file_size: None,
            sha256: None,
            project_ids: vec![project],
        },
    )
    .await
    .unwrap();
    m.id
}

/// An image stored before the pixel policy (its row says 18000×18000): predict, from-model
/// and pre-label refuse it with a 422 naming the limit, never a 500.
async fn predicting_an_over_limit_stored_image_is_a_422(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, _bob) = app.users().await;
    let p = app.project(&ann, "p").await;
    let bytes = png(16, 16, 9);
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let key = Storage::image_key(&sha, "png");
    app.state.storage.put_image(&key, &bytes).unwrap();
    let row = af_db::images::NewImage {
        filename: "old-and-huge.png".into(),
        storage_key: key,
        content_type: "image/png".into(),
        width: 18_000,
        height: 18_000,
        size_bytes: bytes.len() as u64,
        sha256: sha,
        class_label: None,
    };
    let image_id = match af_db::images::insert_many(&app.state.db, p, &[row]).await.unwrap().remove(0) {
        af_db::images::Inserted::Created(i) => i.id,
        other => panic!("{other:?}"),
    };
    let model = model_for(&app, &ann, p).await;

    let r = app.post(&format!("/api/v1/models/{model}/predict"), &ann, json!({"image_id": image_id})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r["error"]["message"],
        "the image is 18000×18000 = 324 megapixels; this server accepts at most 67 megapixels (max_image_pixels = 67108864)"
    );
    assert_eq!((r["error"]["details"]["field"].as_str(), r["error"]["details"]["limit"].as_str()), (Some("image_id"), Some("max_image_pixels")));
    let r = app
        .post(&format!("/api/v1/images/{image_id}/annotations/from-model"), &ann, json!({"model_id": model}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["error"]["details"]["limit"], "max_image_pixels");

    // An uploaded file to predict: the same policy, from its header.
    let (content_type, body) = common::multipart("file", &[("huge.png", &png_header_only(20_000, 20_000))]);
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/models/{model}/predict"))
        .header(header::AUTHORIZATION, format!("Bearer {ann}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let r = app.send(req).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((r["error"]["details"]["field"].as_str(), r["error"]["details"]["limit"].as_str()), (Some("file"), Some("max_image_pixels")));
}

async fn one_image(app: &TestApp, token: &str, w: u32, h: u32) -> (i64, i64) {
    let p = app.project(token, "p").await;
    let up = app.upload(token, p, &[("a.png", &png(w, h, 1))]).await.expect(StatusCode::CREATED);
    (p, up["images"][0]["id"].as_i64().unwrap())
}

fn field(v: &Value) -> String {
    v["error"]["details"]["field"].as_str().unwrap_or_default().to_string()
}

/// Points per polygon, annotations per image, absurd coordinates and sizes: each a 422 naming
/// the field or the limit, nothing stored.
async fn annotation_limits_are_enforced(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        c.limits.max_polygon_points = 5;
        c.limits.max_annotations_per_image = 3;
    })
    .await;
    let (_admin, ann, _bob) = app.users().await;
    let (p, img) = one_image(&app, &ann, 100, 50).await;
    let url = format!("/api/v1/images/{img}/annotations");
    let poly = |n: usize| {
        let pts: Vec<[f64; 2]> = (0..n).map(|i| {
            let t = i as f64 / n as f64 * std::f64::consts::TAU;
            [50.0 + 20.0 * t.cos(), 25.0 + 20.0 * t.sin()]
        }).collect();
        json!({"type": "polygon", "data": {"points": pts}, "class_label": "x"})
    };
    let six = app.post(&url, &ann, poly(6)).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&six), "data.points");
    assert!(six["error"]["message"].as_str().unwrap().contains("max_polygon_points"), "{six}");
    let five = app.post(&url, &ann, poly(5)).await.expect(StatusCode::CREATED);
    let patched = app.patch(&format!("/api/v1/annotations/{}", five["id"]), &ann, json!({"data": poly(6)["data"]})).await;
    assert_eq!(field(&patched.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.points");

    let huge_circle = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 10, "y": 10, "size": 1e308}, "class_label": "x"})).await;
    assert_eq!(field(&huge_circle.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.size");
    let far_box = app.post(&url, &ann, json!({"type": "box", "data": {"corners": [[0, 0], [1e308, 0], [1e308, 10], [0, 10]]}, "class_label": "x"})).await;
    assert_eq!(field(&far_box.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.corners[1][0]");
    let far_poly = app.post(&url, &ann, json!({"type": "polygon", "data": {"points": [[0, 0], [10, -1e12], [10, 10]]}, "class_label": "x"})).await;
    assert_eq!(field(&far_poly.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.points[1][1]");

    app.post(&url, &ann, json!({"type": "circle", "data": {"x": 10, "y": 10, "size": 3}, "class_label": "x"})).await.expect(StatusCode::CREATED);
    app.post(&url, &ann, json!({"type": "circle", "data": {"x": 20, "y": 10, "size": 3}, "class_label": "x"})).await.expect(StatusCode::CREATED);
    let fourth = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 30, "y": 10, "size": 3}, "class_label": "x"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fourth["error"]["message"].as_str().unwrap().contains("max_annotations_per_image"), "{fourth}");
    assert_eq!(fourth["error"]["details"]["limit"], "max_annotations_per_image");
    assert_eq!(app.get(&url, &ann).await.expect(StatusCode::OK).as_array().unwrap().len(), 3);

    // Import: the long polygon and the annotations beyond the per-image limit are skipped.
    let coco = json!({
        "images": [{"id": 1, "file_name": "a.png"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[0, 0, 10, 0, 10, 10, 5, 12, 0, 10, 0, 5]], "bbox": [0, 0, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4]},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4]},
            {"id": 4, "image_id": 1, "category_id": 1, "bbox": [2, 2, 4, 4]},
            {"id": 5, "image_id": 1, "category_id": 1, "bbox": [3, 3, 4, 4]}
        ],
        "categories": [{"id": 1, "name": "x"}]
    });
    let report = import_zip(&app, &ann, p, zip(&[("c.json", coco.to_string().into_bytes()), ("a.png", png(40, 30, 7))]), None).await.expect(StatusCode::OK);
    assert_eq!((report["annotations_imported"].as_i64(), report["annotations_skipped"].as_i64()), (Some(3), Some(2)), "{report}");
    let reasons = report["skipped"].to_string();
    assert!(reasons.contains("max_polygon_points") && reasons.contains("max_annotations_per_image"), "{reasons}");
}

/// The issue's case: a 50 KB zip holding one polygon of 1,000,000 points is not stored.
async fn import_of_a_million_point_polygon_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, _bob) = app.users().await;
    let p = app.project(&ann, "p").await;
    let mut seg = String::with_capacity(8_000_000);
    for i in 0..1_000_000u32 {
        if i > 0 {
            seg.push(',');
        }
        seg.push_str(if i % 2 == 0 { "1,1" } else { "2,3" });
    }
    let coco = format!(
        r#"{{"images": [{{"id": 1, "file_name": "a.png"}}], "categories": [{{"id": 1, "name": "x"}}],
            "annotations": [{{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[{seg}]], "bbox": [0, 0, 3, 3]}}]}}"#
    );
    let archive = zip(&[("c.json", coco.into_bytes()), ("a.png", png(8, 8, 1))]);
    assert!(archive.len() < 200_000, "{} bytes", archive.len());
    let report = import_zip(&app, &ann, p, archive, None).await.expect(StatusCode::OK);
    assert_eq!((report["images_imported"].as_i64(), report["annotations_imported"].as_i64()), (Some(1), Some(0)), "{report}");
    let reason = report["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("1000000 points") && reason.contains("max_polygon_points"), "{reason}");
    let listed = app.get(&format!("/api/v1/projects/{p}/annotations"), &ann).await.expect(StatusCode::OK);
    assert_eq!(listed["total"], 0);
}

/// A prediction of `model` on `image` as the predict route answers it (signed).
fn signed_prediction(app: &TestApp, model: i64, image: i64, corners: Value) -> PredictResponse {
    let mut response = PredictResponse {
        model_id: model,
        model_name: "m".into(),
        task_type: TaskType::Detect,
        image_id: Some(image),
        image_width: 100,
        image_height: 50,
        inference_time_ms: 1.0,
        timing: PredictTiming { preprocess_ms: 0.0, inference_ms: 1.0, postprocess_ms: 0.0 },
        predictions: None,
        top1_class: None,
        top1_confidence: None,
        annotations: Some(vec![PredictedAnnotation {
            ty: AnnotationType::Box,
            data: json!({ "corners": corners }),
            confidence: 0.87,
            source: AnnotationSource::CustomModel,
            class_label: "cat".into(),
            class_id: 0,
            bbox: [10.0, 10.0, 40.0, 30.0],
            accept_token: None,
        }]),
    };
    annotateforge::prediction_token::sign_all(&app.state, &mut response).unwrap();
    response
}

/// Clients cannot claim `custom_model`; accepting a server-signed prediction stores it so.
async fn only_the_server_sets_the_model_source(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, _bob) = app.users().await;
    let (_p, img) = one_image(&app, &ann, 100, 50).await;
    let url = format!("/api/v1/images/{img}/annotations");
    let corners = json!([[10, 10], [40, 10], [40, 30], [10, 30]]);
    let claimed = app
        .post(&url, &ann, json!({"type": "box", "data": {"corners": corners}, "class_label": "cat", "confidence": 0.9, "source": "custom_model"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&claimed), "source");
    let manual = app.post(&url, &ann, json!({"type": "box", "data": {"corners": corners}, "class_label": "cat", "source": "manual"})).await.expect(StatusCode::CREATED);
    let aurl = format!("/api/v1/annotations/{}", manual["id"]);
    assert_eq!(field(&app.patch(&aurl, &ann, json!({"source": "custom_model"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY)), "source");

    let prediction = signed_prediction(&app, 7, img, corners.clone());
    let token = prediction.annotations.as_ref().unwrap()[0].accept_token.clone().unwrap();
    let accept = format!("/api/v1/images/{img}/annotations/accept");
    let saved = app.post(&accept, &ann, json!({"accept_token": token})).await.expect(StatusCode::CREATED);
    assert_eq!((saved["source"].as_str(), saved["confidence"].as_f64(), saved["class_label"].as_str()), (Some("custom_model"), Some(0.87), Some("cat")));
    assert_eq!(saved["data"]["corners"], json!([[10.0, 10.0], [40.0, 10.0], [40.0, 30.0], [10.0, 30.0]]));
    // Editing a model-made annotation keeps its source (sending it unchanged is fine too).
    let sid = saved["id"].as_i64().unwrap();
    let edited = app.patch(&format!("/api/v1/annotations/{sid}"), &ann, json!({"class_label": "dog", "source": "custom_model"})).await.expect(StatusCode::OK);
    assert_eq!(edited["source"], "custom_model");

    // A token for another image, a tampered one, or garbage: the same 422, nothing stored.
    let (_p2, other) = one_image(&app, &ann, 100, 50).await;
    let r = app.post(&format!("/api/v1/images/{other}/annotations/accept"), &ann, json!({"accept_token": token})).await;
    assert_eq!(field(&r.expect(StatusCode::UNPROCESSABLE_ENTITY)), "accept_token");
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = parts[1].chars().rev().collect();
    let r = app.post(&accept, &ann, json!({"accept_token": parts.join(".")})).await;
    assert_eq!(field(&r.expect(StatusCode::UNPROCESSABLE_ENTITY)), "accept_token");
    let r = app.post(&accept, &ann, json!({"accept_token": "nonsense"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r["error"]["message"].as_str().unwrap().to_lowercase().contains("base64"), "{r}");
    // An access token is not a prediction token.
    let r = app.post(&accept, &ann, json!({"accept_token": ann})).await;
    assert_eq!(field(&r.expect(StatusCode::UNPROCESSABLE_ENTITY)), "accept_token");
    assert_eq!(app.get(&url, &ann).await.expect(StatusCode::OK).as_array().unwrap().len(), 2);
}

backend_tests!(
    import_paths_outside_the_archive_are_refused_alike,
    server_path_imports_stay_inside_their_directory,
    uploads_over_the_pixel_limit_are_refused_from_the_header,
    predicting_an_over_limit_stored_image_is_a_422,
    annotation_limits_are_enforced,
    import_of_a_million_point_polygon_is_refused,
    only_the_server_sets_the_model_source,
);
