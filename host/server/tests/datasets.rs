//! Import (COCO, YOLO, ImageFolder; zip upload or server path), COCO export and its round
//! trip, the demo project, the OpenAPI document and the front end, on SQLite and PostgreSQL.

mod common;

use std::io::Write;

use af_db::{backend_tests, Backend};
use axum::http::{header, Method, StatusCode};
use common::{import_zip, png, TestApp};
use serde_json::{json, Value};

fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}


async fn all_annotations(app: &TestApp, token: &str, project: i64) -> Vec<Value> {
    let v = app.get(&format!("/api/v1/projects/{project}/annotations?per_page=1000"), token).await.expect(StatusCode::OK);
    v["items"].as_array().unwrap().clone()
}

async fn yolo_zip_import(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, bob) = app.users().await;
    let p = app.project(&ann, "yolo").await;
    let archive = zip(&[
        ("ds/data.yaml", b"path: .\ntrain: images/train\nval: images/val\nnc: 2\nnames: {0: cat, 1: dog}\n".to_vec()),
        ("ds/images/train/a.png", png(100, 50, 1)),
        ("ds/labels/train/a.txt", b"0 0.5 0.5 0.2 0.4\n1 0.1 0.1 0.5 0.1 0.3 0.5\n5 0.5 0.5 0.1 0.1\n".to_vec()),
        ("ds/images/val/b.png", png(20, 20, 2)),
        ("ds/labels/val/b.txt", b"0 0.5 0.5 0.0 0.0\n".to_vec()),
        ("ds/images/val/broken.png", b"not a png".to_vec()),
    ]);
    import_zip(&app, &bob, p, archive.clone(), None).await.expect(StatusCode::NOT_FOUND);
    let report = import_zip(&app, &ann, p, archive, None).await.expect(StatusCode::OK);
    assert_eq!(report["format"], "yolo");
    assert_eq!((report["images_imported"].as_u64(), report["images_skipped"].as_u64()), (Some(2), Some(1)));
    // Imported: the box and the polygon; skipped: the unknown class and the zero-size box.
    assert_eq!((report["annotations_imported"].as_u64(), report["annotations_skipped"].as_u64()), (Some(2), Some(2)), "{report}");
    let reasons: Vec<&str> = report["skipped"].as_array().unwrap().iter().map(|s| s["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("class id 5")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("cannot be decoded") || r.contains("not an image")), "{reasons:?}");

    let anns = all_annotations(&app, &ann, p).await;
    assert_eq!(anns[0]["type"], "box");
    assert_eq!(anns[0]["class_label"], "cat");
    assert_eq!(anns[0]["data"]["corners"], json!([[40.0, 15.0], [60.0, 15.0], [60.0, 35.0], [40.0, 35.0]]));
    assert_eq!((anns[1]["type"].as_str(), anns[1]["class_label"].as_str()), (Some("polygon"), Some("dog")));

    // Importing the same archive again skips every image as a duplicate.
    let archive = zip(&[("data.yaml", b"names: [cat]\ntrain: images/train\n".to_vec()), ("images/train/a.png", png(100, 50, 1))]);
    let again = import_zip(&app, &ann, p, archive, Some("yolo")).await.expect(StatusCode::OK);
    assert_eq!((again["images_imported"].as_u64(), again["images_skipped"].as_u64()), (Some(0), Some(1)));
}

async fn coco_import_export_round_trip(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, ann, _bob) = app.users().await;
    let p = app.project(&ann, "coco").await;
    let coco = json!({
        "images": [{"id": 7, "file_name": "a.png", "width": 64, "height": 32}, {"id": 8, "file_name": "missing.png"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "bbox": [2, 3, 10, 5], "segmentation": [], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 2, "bbox": [0, 0, 8, 8], "segmentation": [[0, 0, 8, 0, 4, 8]]},
            {"id": 3, "image_id": 7, "category_id": 9, "bbox": [0, 0, 8, 8]}
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "sign"}]
    });
    let archive = zip(&[("annotations.json", coco.to_string().into_bytes()), ("images/a.png", png(64, 32, 5))]);
    let report = import_zip(&app, &ann, p, archive, None).await.expect(StatusCode::OK);
    assert_eq!(report["format"], "coco");
    assert_eq!((report["images_imported"].as_u64(), report["images_skipped"].as_u64()), (Some(1), Some(1)));
    assert_eq!((report["annotations_imported"].as_u64(), report["annotations_skipped"].as_u64()), (Some(2), Some(1)));
    // Add a circle and an image label, then export.
    let img = app.get(&format!("/api/v1/projects/{p}/images"), &ann).await.expect(StatusCode::OK)["items"][0]["id"].as_i64().unwrap();
    app.post(&format!("/api/v1/images/{img}/annotations"), &ann, json!({"type": "circle", "data": {"x": 30, "y": 16, "size": 4}, "class_label": "wheel"}))
        .await
        .expect(StatusCode::CREATED);
    app.patch(&format!("/api/v1/images/{img}"), &ann, json!({"class_label": "street"})).await.expect(StatusCode::OK);

    let export = app.get(&format!("/api/v1/projects/{p}/export?format=coco"), &ann).await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("attachment"));
    let doc = export.json();
    assert_eq!(doc["images"].as_array().unwrap().len(), 1);
    assert_eq!(doc["images"][0]["class_label"], "street");
    let names: Vec<&str> = doc["categories"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["car", "sign", "wheel"]);
    let box_ann = doc["annotations"].as_array().unwrap().iter().find(|a| a["annotateforge"]["type"] == "box").unwrap();
    assert_eq!(box_ann["bbox"], json!([2.0, 3.0, 10.0, 5.0]));
    assert_eq!(box_ann["area"], 50.0);
    let circle = doc["annotations"].as_array().unwrap().iter().find(|a| a["annotateforge"]["type"] == "circle").unwrap();
    assert_eq!(circle["segmentation"][0].as_array().unwrap().len(), 64, "a circle exports as a 32-gon");
    app.get(&format!("/api/v1/projects/{p}/export?format=voc"), &ann).await.expect(StatusCode::UNPROCESSABLE_ENTITY);

    // The export imports back into a new project with the same shapes (from a server path: admins).
    let q = app.project(&ann, "copy").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.json"), serde_json::to_vec(&doc).unwrap()).unwrap();
    std::fs::write(dir.path().join("a.png"), png(64, 32, 5)).unwrap();
    let path_body = json!({"path": dir.path().to_str().unwrap()});
    app.post(&format!("/api/v1/projects/{q}/import"), &ann, path_body.clone()).await.expect(StatusCode::FORBIDDEN);
    let back = app.post(&format!("/api/v1/projects/{q}/import"), &admin, path_body).await.expect(StatusCode::OK);
    assert_eq!((back["images_imported"].as_u64(), back["annotations_imported"].as_u64()), (Some(1), Some(3)), "{back}");
    let strip = |v: Vec<Value>| -> Vec<(Value, Value, Value)> {
        let mut out: Vec<_> = v.into_iter().map(|a| (a["type"].clone(), a["data"].clone(), a["class_label"].clone())).collect();
        out.sort_by_key(|t| t.0.to_string());
        out
    };
    assert_eq!(strip(all_annotations(&app, &admin, q).await), strip(all_annotations(&app, &ann, p).await));
    let copied = app.get(&format!("/api/v1/projects/{q}/images"), &admin).await.expect(StatusCode::OK);
    assert_eq!(copied["items"][0]["class_label"], "street");
}

async fn imagefolder_and_bad_archives(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.max_import_bytes = 200_000).await;
    let (admin, ann, _bob) = app.users().await;
    let p = app.project(&ann, "cls").await;
    let archive = zip(&[("train/cat/1.png", png(10, 10, 1)), ("train/dog/2.png", png(10, 10, 2)), ("val/cat/3.png", png(10, 10, 3))]);
    let report = import_zip(&app, &ann, p, archive, Some("imagefolder")).await.expect(StatusCode::OK);
    assert_eq!((report["format"].as_str(), report["images_imported"].as_u64()), (Some("imagefolder"), Some(3)));
    let images = app.get(&format!("/api/v1/projects/{p}/images"), &ann).await.expect(StatusCode::OK);
    let labels: Vec<&str> = images["items"].as_array().unwrap().iter().map(|i| i["class_label"].as_str().unwrap()).collect();
    assert_eq!(labels, vec!["cat", "dog", "cat"]);

    let before = images["total"].as_i64();
    let count = || async { app.get(&format!("/api/v1/projects/{p}/images"), &ann).await.expect(StatusCode::OK)["total"].as_i64() };
    import_zip(&app, &ann, p, b"this is not a zip".to_vec(), None).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let escape = zip(&[("../../evil.png", png(4, 4, 9))]);
    let r = import_zip(&app, &ann, p, escape, None).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r["error"]["message"].as_str().unwrap().contains("outside"));
    // A small archive that unpacks beyond the limit (a zip bomb in miniature).
    let bomb = zip(&[("train/cat/zeros.png", vec![0u8; 400_000])]);
    assert!(bomb.len() < 200_000);
    import_zip(&app, &ann, p, bomb, None).await.expect(StatusCode::PAYLOAD_TOO_LARGE);
    let unknown = zip(&[("readme.txt", b"hello".to_vec())]);
    import_zip(&app, &ann, p, unknown, None).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    import_zip(&app, &ann, p, zip(&[]), Some("parquet")).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.post(&format!("/api/v1/projects/{p}/import"), &admin, json!({"path": "/nonexistent/dir"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.post(&format!("/api/v1/projects/{p}/import"), &admin, json!({"path": "/tmp", "extra": 1})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count().await, before, "failed imports stored nothing");
    let leftovers: Vec<_> = std::fs::read_dir(app.state.storage.tmp_dir()).unwrap().collect();
    assert!(leftovers.is_empty(), "import scratch space is cleaned up");
}

async fn demo_project_is_ready_to_train(backend: Backend) {
    let app = TestApp::new(backend).await;
    let id = annotateforge::demo::install(&app.state).await.unwrap().expect("created");
    assert_eq!(annotateforge::demo::install(&app.state).await.unwrap(), None, "created once");
    // The first user becomes admin and owner of the demo project.
    let admin = app.user("first@example.com").await;
    let projects = app.get("/api/v1/projects", &admin).await.expect(StatusCode::OK);
    assert_eq!(projects[0]["id"].as_i64(), Some(id));
    assert_eq!(projects[0]["role"], "owner");
    assert_eq!(projects[0]["image_count"].as_i64(), Some(annotateforge::demo::DEFAULT_COUNT as i64));
    let members = app.get(&format!("/api/v1/projects/{id}/members"), &admin).await.expect(StatusCode::OK);
    assert_eq!(members[0]["role"], "owner");
    let images = app.get(&format!("/api/v1/projects/{id}/images?per_page=1000"), &admin).await.expect(StatusCode::OK);
    for img in images["items"].as_array().unwrap() {
        assert!(annotateforge::demo::CLASSES.contains(&img["class_label"].as_str().unwrap()));
        assert!(img["annotation_count"].as_i64().unwrap() >= 1);
        assert_eq!((img["width"].as_u64(), img["height"].as_u64()), (Some(256), Some(256)));
    }
    let anns = all_annotations(&app, &admin, id).await;
    for ty in ["circle", "box", "polygon"] {
        assert!(anns.iter().any(|a| a["type"] == ty), "the demo has {ty} annotations");
    }
    // A second user does not see it.
    let other = app.user("second@example.com").await;
    assert_eq!(app.get("/api/v1/projects", &other).await.expect(StatusCode::OK), json!([]));
}

async fn openapi_document_matches_the_routes(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.expect(StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/healthz", "get"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/me", "get"),
        ("/api/v1/projects", "get"),
        ("/api/v1/projects", "post"),
        ("/api/v1/projects/{id}", "get"),
        ("/api/v1/projects/{id}", "patch"),
        ("/api/v1/projects/{id}", "delete"),
        ("/api/v1/projects/{id}/members", "get"),
        ("/api/v1/projects/{id}/members", "post"),
        ("/api/v1/projects/{id}/members/{user_id}", "delete"),
        ("/api/v1/projects/{id}/images", "post"),
        ("/api/v1/projects/{id}/images", "get"),
        ("/api/v1/images/{id}", "get"),
        ("/api/v1/images/{id}", "patch"),
        ("/api/v1/images/{id}", "delete"),
        ("/api/v1/images/{id}/file", "get"),
        ("/api/v1/images/{id}/annotations", "get"),
        ("/api/v1/images/{id}/annotations", "post"),
        ("/api/v1/projects/{id}/annotations", "get"),
        ("/api/v1/annotations/{id}", "patch"),
        ("/api/v1/annotations/{id}", "delete"),
        ("/api/v1/projects/{id}/import", "post"),
        ("/api/v1/projects/{id}/export", "get"),
    ];
    for (path, method) in expected {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is documented");
    }
    // Every documented operation is routed: with no token it is 401 (or public), never 404/405.
    let token_free = ["/healthz", "/api/v1/auth/register", "/api/v1/auth/login"];
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let uri = path.replace("{id}", "1").replace("{user_id}", "1");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app.call(m, &uri, None, None).await;
            assert_ne!(res.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            if !token_free.contains(&path.as_str()) {
                assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path} needs a token");
                let op = &ops[method];
                assert!(op["security"].is_array(), "{method} {path} documents its bearer security");
            }
        }
    }
    // Schemas the front end relies on are present.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in ["ErrorBody", "ProjectResponse", "ImageResponse", "AnnotationResponse", "ImportReport", "AnnotationType"] {
        assert!(schemas.contains_key(s), "schema {s}");
    }
}

async fn serves_the_front_end_with_spa_fallback(backend: Backend) {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<!doctype html><title>AnnotateForge</title>").unwrap();
    std::fs::create_dir(dist.path().join("assets")).unwrap();
    std::fs::write(dist.path().join("assets/app.js"), "console.log(1)").unwrap();
    let dir = dist.path().to_path_buf();
    let app = TestApp::with_config(backend, move |c| c.frontend_dir = Some(dir)).await;
    let index = app.call(Method::GET, "/", None, None).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&index.body).contains("AnnotateForge"));
    let js = app.call(Method::GET, "/assets/app.js", None, None).await;
    assert_eq!((js.status, js.body.as_ref()), (StatusCode::OK, b"console.log(1)".as_ref()));
    // Client-side routes get index.html; API paths never do.
    for path in ["/projects", "/projects/12/annotate", "/jobs/4", "/models/1", "/training/new"] {
        let deep = app.call(Method::GET, path, None, None).await;
        assert_eq!(deep.status, StatusCode::OK, "{path}: a deep link answers the app with 200");
        assert!(String::from_utf8_lossy(&deep.body).contains("<title>AnnotateForge"), "{path}");
    }
    app.call(Method::GET, "/api/v1/unknown", None, None).await.expect(StatusCode::NOT_FOUND);
}

backend_tests!(
    yolo_zip_import,
    coco_import_export_round_trip,
    imagefolder_and_bad_archives,
    demo_project_is_ready_to_train,
    openapi_document_matches_the_routes,
    serves_the_front_end_with_spa_fallback,
);
