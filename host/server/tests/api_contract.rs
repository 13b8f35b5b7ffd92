//! The API's contract, on SQLite and on a throwaway PostgreSQL cluster: text either backend
//! can store (a NUL character is a 422 naming the field on both, never a 500 on one and a
//! stored row on the other), and an OpenAPI document that says what the server does.

mod common;

use af_db::{backend_tests, Backend};
use axum::http::{Method, StatusCode};
use common::{png, TestApp};
use serde_json::{json, Value};

/// The field a 422 names, after checking it is one.
#[track_caller]
fn refused_field(r: common::Reply) -> String {
    let v = r.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"].as_str().unwrap().contains("NUL"), "{v}");
    v["error"]["details"]["field"].as_str().unwrap_or_default().to_string()
}

async fn nul_text_is_refused_naming_the_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Before any account exists: register and login need no token.
    let nul_email = json!({"email": "ann\u{0}@example.com", "password": "password123"});
    assert_eq!(refused_field(app.call(Method::POST, "/api/v1/auth/register", None, Some(nul_email.clone())).await), "email");
    assert_eq!(refused_field(app.call(Method::POST, "/api/v1/auth/login", None, Some(nul_email)).await), "email");
    let admin = app.user("admin@example.com").await;

    assert_eq!(refused_field(app.post("/api/v1/projects", &admin, json!({"name": "cats\u{0}"})).await), "name");
    assert_eq!(refused_field(app.post("/api/v1/projects", &admin, json!({"name": "cats", "description": "\u{0}"})).await), "description");
    let project = app.project(&admin, "cats").await;
    let uri = format!("/api/v1/projects/{project}");
    assert_eq!(refused_field(app.patch(&uri, &admin, json!({"name": "dogs\u{0}"})).await), "name");

    let image = app.upload(&admin, project, &[("a.png", &png(32, 32, 1))]).await.expect(StatusCode::CREATED)["images"][0]["id"].as_i64().unwrap();
    let image_uri = format!("/api/v1/images/{image}");
    assert_eq!(refused_field(app.patch(&image_uri, &admin, json!({"class_label": "cat\u{0}"})).await), "class_label");
    let annotations = format!("/api/v1/images/{image}/annotations");
    let circle = |label: &str| json!({"type": "circle", "data": {"x": 5, "y": 5, "size": 2}, "class_label": label});
    assert_eq!(refused_field(app.post(&annotations, &admin, circle("cat\u{0}")).await), "class_label");
    // Nested values and object keys are named by their JSON path.
    let nested = json!({"type": "polygon", "data": {"points": [[1, 1], [9, 1], [1, "\u{0}"]]}, "class_label": "cat"});
    assert_eq!(refused_field(app.post(&annotations, &admin, nested).await), "data.points[2][1]");
    let job = json!({"name": "j", "task_type": "detect", "projects": [project], "hyperparameters": {"model": "yolov8n\u{0}.pt"}});
    assert_eq!(refused_field(app.post("/api/v1/training/jobs", &admin, job).await), "hyperparameters.model");
    let job = json!({"name": "j", "task_type": "detect", "projects": [project], "class_mapping": {"ca\u{0}t": 0}});
    assert_eq!(refused_field(app.post("/api/v1/training/jobs", &admin, job).await), "class_mapping.ca\\u0000t");
    // Query strings too.
    assert_eq!(refused_field(app.get(&format!("/api/v1/training/classes?projects={project}%00"), &admin).await), "projects");

    // Nothing was stored; a literal backslash-u (no NUL) is ordinary text; the row is intact.
    let escaped = app.post("/api/v1/projects", &admin, json!({"name": "a\\u0000b"})).await.expect(StatusCode::CREATED);
    assert_eq!(escaped["name"], "a\\u0000b");
    let projects = app.get("/api/v1/projects", &admin).await.expect(StatusCode::OK);
    let names: Vec<&str> = projects.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(!names.iter().any(|n| n.contains('\u{0}')), "{names:?}");
    assert_eq!(app.get(&annotations, &admin).await.expect(StatusCode::OK), json!([]));
    let image = app.get(&image_uri, &admin).await.expect(StatusCode::OK);
    assert_eq!(image["class_label"], Value::Null);
}

/// Text from an archive does not pass through `AppJson`: a NUL class label skips that
/// annotation with the reason, on both backends, instead of failing the import.
async fn imported_nul_labels_are_skipped_with_the_reason(backend: Backend) {
    use std::io::Write;
    let app = TestApp::new(backend).await;
    let admin = app.user("admin@example.com").await;
    let project = app.project(&admin, "coco").await;
    let coco = json!({
        "images": [{"id": 1, "file_name": "a.png", "width": 32, "height": 32}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [4, 4, 10, 10]}
        ],
        "categories": [{"id": 1, "name": "ca\u{0}r"}, {"id": 2, "name": "sign"}]
    });
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in [("annotations.json", coco.to_string().into_bytes()), ("images/a.png", png(32, 32, 3))] {
        w.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(&bytes).unwrap();
    }
    let (content_type, body) = common::multipart("file", &[("d.zip", &w.finish().unwrap().into_inner())]);
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/projects/{project}/import"))
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", content_type)
        .body(axum::body::Body::from(body))
        .unwrap();
    let report = app.send(req).await.expect(StatusCode::OK);
    assert_eq!((report["annotations_imported"].as_u64(), report["annotations_skipped"].as_u64()), (Some(1), Some(1)), "{report}");
    assert!(report["skipped"].to_string().contains("NUL"), "{report}");
}

/// Shape errors keep the messages they had before the NUL check existed (it only parses
/// bodies that contain the `\u0000` escape).
async fn json_errors_keep_their_messages(backend: Backend) {
    let app = TestApp::new(backend).await;
    let admin = app.user("admin@example.com").await;
    let r = app.raw_json(Method::POST, "/api/v1/projects", &admin, r#"{"name": "x", "colour": 1}"#).await;
    let v = r.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["details"]["field"], "colour", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("line 1 column"), "{v}");
    // A body is an object: serde would also read a struct from an array of its fields.
    let project = app.project(&admin, "p").await;
    let r = app.raw_json(Method::PATCH, &format!("/api/v1/projects/{project}"), &admin, "[null, null]").await;
    let v = r.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["message"].as_str().unwrap().contains("expected struct UpdateProject"), "{v}");
    let r = app.raw_json(Method::POST, "/api/v1/projects", &admin, r#"["x", ""]"#).await;
    r.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let r = app.raw_json(Method::POST, "/api/v1/projects", &admin, r#"{"name": "x"} {}"#).await;
    r.expect(StatusCode::BAD_REQUEST);
    let r = app.raw_json(Method::POST, "/api/v1/projects", &admin, r#"{"name": "#).await;
    assert!(r.expect(StatusCode::BAD_REQUEST)["error"]["message"].as_str().unwrap().starts_with("malformed JSON"));
    // Malformed JSON with the escape in it is still a syntax error, not a NUL one.
    let r = app.raw_json(Method::POST, "/api/v1/projects", &admin, r#"{"name": "\u0000"#).await;
    r.expect(StatusCode::BAD_REQUEST);
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/projects")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(r#"{"name": "x"}"#))
        .unwrap();
    app.send(req).await.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

/// Resolves a `$ref` to a component schema.
fn schema<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => s,
    }
}

fn allows_type(s: &Value, ty: &str) -> bool {
    match &s["type"] {
        Value::Null => true,
        Value::String(t) => t == ty,
        Value::Array(ts) => ts.iter().any(|t| t == ty),
        _ => false,
    }
}

async fn openapi_document_agrees_with_the_server(backend: Backend) {
    let app = TestApp::new(backend).await;
    let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.expect(StatusCode::OK);

    // Errors: `details` is null for errors without context, and the schema says so.
    let detail = &doc["components"]["schemas"]["ErrorDetail"]["properties"]["details"];
    assert!(allows_type(detail, "null") && allows_type(detail, "object"), "details: {detail}");
    let missing = app.call(Method::GET, "/api/v1/auth/me", None, None).await.expect(StatusCode::UNAUTHORIZED);
    assert_eq!(missing["error"]["details"], Value::Null);

    // Every operation documents the errors it can answer.
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().unwrap();
        let has = |code: &str| responses.contains_key(code);
        let secured = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        if secured {
            assert!(has("401"), "{method} {path} needs a token but documents no 401");
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "path") {
            assert!(has("400") && has("404"), "{method} {path} has path parameters but no 400/404");
        }
        if op.get("requestBody").is_some() {
            for code in ["400", "413", "415", "422"] {
                assert!(has(code), "{method} {path} takes a body but documents no {code}");
            }
        }
        for (code, r) in responses {
            if code.starts_with('4') {
                let s = &r["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(s, "#/components/schemas/ErrorBody", "{method} {path} {code}: errors are ErrorBody");
            }
        }
    }
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    assert!(login.get("429").is_some(), "login is rate limited: {login}");

    // `GET /training/defaults`: a field's default and choices are whatever JSON the field
    // takes (the model's is a string), not objects.
    let admin = app.user("admin@example.com").await;
    let defaults = app.get("/api/v1/training/defaults?task_type=detect", &admin).await.expect(StatusCode::OK);
    let model = defaults["fields"].as_array().unwrap().iter().find(|f| f["name"] == "model").unwrap();
    assert!(model["default"].is_string() && model["choices"][0].is_string(), "{model}");
    let spec = schema(&doc, &doc["components"]["schemas"]["FieldSpec"]);
    let default = &spec["properties"]["default"];
    assert!(allows_type(default, "string") && allows_type(default, "number"), "FieldSpec.default: {default}");
    let choice = &spec["properties"]["choices"]["items"];
    assert!(allows_type(choice, "string") && allows_type(choice, "integer"), "FieldSpec.choices: {choice}");
}

backend_tests!(nul_text_is_refused_naming_the_field, imported_nul_labels_are_skipped_with_the_reason, json_errors_keep_their_messages, openapi_document_agrees_with_the_server);
