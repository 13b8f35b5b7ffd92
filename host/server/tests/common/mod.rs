//! The test harness: an `AppState` over a fresh database (SQLite or the shared throwaway
//! PostgreSQL cluster) and a temporary data directory, driven through `app(state)` with
//! tower's `oneshot`, or through a real listener on a free port.

#![allow(dead_code)]

pub mod demo;

use std::io::Cursor;
use std::net::SocketAddr;

use af_db::testing::TestDb;
use af_db::Backend;
use annotateforge::storage::Storage;
use annotateforge::{AppState, Config};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the status and, for errors, the shape of the error body; returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.body));
        if self.body.is_empty() {
            return Value::Null;
        }
        let v = self.json();
        if status.is_client_error() || status.is_server_error() {
            let e = &v["error"];
            assert!(e["code"].is_string() && e["message"].is_string() && e.get("details").is_some(), "error body: {v}");
        }
        v
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        Self::with_config(backend, |_| {}).await
    }

    pub async fn with_config(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(dir.path());
        config.database_url = db.url.clone();
        tweak(&mut config);
        let storage = Storage::open(dir.path()).unwrap();
        let state = AppState::with_db(config, db.db.clone(), storage).unwrap();
        TestApp { router: annotateforge::app(state.clone()), state, _db: db, _dir: dir }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        Reply { status, headers, body }
    }

    pub async fn call(&self, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(v.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    /// Sends raw bytes as `application/json` (for malformed-JSON tests).
    pub async fn raw_json(&self, method: Method, uri: &str, token: &str, body: &str) -> Reply {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::GET, uri, Some(token), None).await
    }
    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, uri, Some(token), Some(body)).await
    }
    pub async fn patch(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, uri, Some(token), Some(body)).await
    }
    pub async fn delete(&self, uri: &str, token: &str) -> Reply {
        self.call(Method::DELETE, uri, Some(token), None).await
    }

    /// Registers `email` (password `password123`) and returns a token for it.
    pub async fn user(&self, email: &str) -> String {
        let creds = json!({"email": email, "password": "password123"});
        self.call(Method::POST, "/api/v1/auth/register", None, Some(creds.clone())).await.expect(StatusCode::CREATED);
        let v = self.call(Method::POST, "/api/v1/auth/login", None, Some(creds)).await.expect(StatusCode::OK);
        v["access_token"].as_str().unwrap().to_string()
    }

    /// An admin (the first user) plus two ordinary users, `ann` and `bob`.
    pub async fn users(&self) -> (String, String, String) {
        (self.user("admin@example.com").await, self.user("ann@example.com").await, self.user("bob@example.com").await)
    }

    pub async fn project(&self, token: &str, name: &str) -> i64 {
        self.post("/api/v1/projects", token, json!({"name": name})).await.expect(StatusCode::CREATED)["id"].as_i64().unwrap()
    }

    /// Uploads files as multipart parts named `part` (normally `files`).
    pub async fn upload_parts(&self, token: &str, project: i64, part: &str, files: &[(&str, &[u8])]) -> Reply {
        let (content_type, body) = multipart(part, files);
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/projects/{project}/images"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    pub async fn upload(&self, token: &str, project: i64, files: &[(&str, &[u8])]) -> Reply {
        self.upload_parts(token, project, "files", files).await
    }

    /// Starts the real server on a free port; it stops when the returned sender is dropped.
    pub async fn listen(&self) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = self.state.clone();
        tokio::spawn(annotateforge::serve::serve_on(listener, state, async move {
            let _ = rx.await;
        }));
        (addr, tx)
    }
}

/// A multipart/form-data body: `(content type, bytes)`.
pub fn multipart(part: &str, files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "af-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A PNG of `w`×`h` whose pixels depend on `seed` (different seeds, different content).
pub fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8 ^ seed, y as u8, seed]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// `POST /projects/{project}/import` with `archive` as the multipart `file` (and `format`).
pub async fn import_zip(app: &TestApp, token: &str, project: i64, archive: Vec<u8>, format: Option<&str>) -> Reply {
    let boundary = "af-import-boundary";
    let mut body = Vec::new();
    if let Some(f) = format {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\n{f}\r\n").as_bytes());
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.zip\"\r\nContent-Type: application/zip\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&archive);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/projects/{project}/import"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}
