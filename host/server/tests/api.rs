//! The HTTP API end to end, on SQLite and on a throwaway PostgreSQL cluster: auth, access
//! control, images, annotations, bad input (each a clear 4xx that leaves the data unchanged).

mod common;

use af_db::{backend_tests, Backend};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{jpeg, png, TestApp};
use serde_json::json;

async fn auth_register_login_me(backend: Backend) {
    let app = TestApp::new(backend).await;
    let creds = json!({"email": "First@Example.com", "password": "password123"});
    let first = app.call(Method::POST, "/api/v1/auth/register", None, Some(creds.clone())).await.expect(StatusCode::CREATED);
    assert_eq!((first["role"].as_str(), first["email"].as_str()), (Some("admin"), Some("first@example.com")));
    app.call(Method::POST, "/api/v1/auth/register", None, Some(creds)).await.expect(StatusCode::CONFLICT);
    let second = app
        .call(Method::POST, "/api/v1/auth/register", None, Some(json!({"email": "two@example.com", "password": "password123"})))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(second["role"], "user");

    let short = app
        .call(Method::POST, "/api/v1/auth/register", None, Some(json!({"email": "x@example.com", "password": "short"})))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short["error"]["details"]["field"], "password");
    let bad_email = app
        .call(Method::POST, "/api/v1/auth/register", None, Some(json!({"email": "nope", "password": "password123"})))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_email["error"]["details"]["field"], "email");

    let wrong = json!({"email": "two@example.com", "password": "wrong-password"});
    app.call(Method::POST, "/api/v1/auth/login", None, Some(wrong)).await.expect(StatusCode::UNAUTHORIZED);
    let unknown = json!({"email": "ghost@example.com", "password": "password123"});
    app.call(Method::POST, "/api/v1/auth/login", None, Some(unknown)).await.expect(StatusCode::UNAUTHORIZED);
    let login = app
        .call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": "TWO@example.com", "password": "password123"})))
        .await
        .expect(StatusCode::OK);
    assert_eq!(login["token_type"], "bearer");
    let token = login["access_token"].as_str().unwrap();

    let me = app.get("/api/v1/auth/me", token).await.expect(StatusCode::OK);
    assert_eq!(me["email"], "two@example.com");
    // Every other endpoint needs a valid token.
    for uri in ["/api/v1/auth/me", "/api/v1/projects", "/api/v1/images/1", "/api/v1/projects/1/annotations"] {
        app.call(Method::GET, uri, None, None).await.expect(StatusCode::UNAUTHORIZED);
        app.call(Method::GET, uri, Some("not.a.token"), None).await.expect(StatusCode::UNAUTHORIZED);
    }
    // A query-parameter token is only for routes that cannot send headers (WebSockets, image
    // files, downloads: tests/http_hardening.rs), not this one.
    app.call(Method::GET, &format!("/api/v1/auth/me?token={token}"), None, None).await.expect(StatusCode::UNAUTHORIZED);
}

async fn closed_registration_lets_only_admins_create_accounts(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.closed_registration = true).await;
    let register = |email: &str| json!({"email": email, "password": "password123"});
    // The first account still signs itself up (someone has to), and is the admin.
    let first = app.call(Method::POST, "/api/v1/auth/register", None, Some(register("root@example.com"))).await.expect(StatusCode::CREATED);
    assert_eq!(first["role"], "admin");
    let refused = app.call(Method::POST, "/api/v1/auth/register", None, Some(register("walk-in@example.com"))).await.expect(StatusCode::FORBIDDEN);
    assert!(refused["error"]["message"].as_str().unwrap().contains("registration is closed"), "{refused}");
    app.call(Method::POST, "/api/v1/auth/login", None, Some(register("walk-in@example.com"))).await.expect(StatusCode::UNAUTHORIZED);

    let login = |email: &str| {
        let body = register(email);
        let app = &app;
        async move { app.call(Method::POST, "/api/v1/auth/login", None, Some(body)).await.expect(StatusCode::OK)["access_token"].as_str().unwrap().to_string() }
    };
    let admin = login("root@example.com").await;
    let made = app.call(Method::POST, "/api/v1/auth/register", Some(&admin), Some(register("ann@example.com"))).await.expect(StatusCode::CREATED);
    assert_eq!(made["role"], "user");
    // A plain user cannot invite, and a bad token is an error rather than an anonymous sign-up.
    let ann = login("ann@example.com").await;
    app.call(Method::POST, "/api/v1/auth/register", Some(&ann), Some(register("friend@example.com"))).await.expect(StatusCode::FORBIDDEN);
    app.call(Method::POST, "/api/v1/auth/register", Some("not.a.token"), Some(register("friend@example.com"))).await.expect(StatusCode::UNAUTHORIZED);
}

async fn projects_are_private_to_members(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (admin, ann, bob) = app.users().await;
    let p = app.project(&ann, "ann's cats").await;
    let ann_view = app.get(&format!("/api/v1/projects/{p}"), &ann).await.expect(StatusCode::OK);
    assert_eq!((ann_view["role"].as_str(), ann_view["image_count"].as_i64()), (Some("owner"), Some(0)));

    // Bob sees nothing of it, and cannot tell it from a missing project.
    assert_eq!(app.get("/api/v1/projects", &bob).await.expect(StatusCode::OK), json!([]));
    let hidden = app.get(&format!("/api/v1/projects/{p}"), &bob).await.expect(StatusCode::NOT_FOUND);
    let missing = app.get("/api/v1/projects/999999", &bob).await.expect(StatusCode::NOT_FOUND);
    assert_eq!(hidden["error"]["code"], missing["error"]["code"]);
    app.patch(&format!("/api/v1/projects/{p}"), &bob, json!({"name": "mine"})).await.expect(StatusCode::NOT_FOUND);
    app.delete(&format!("/api/v1/projects/{p}"), &bob).await.expect(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/projects/{p}/images"), &bob).await.expect(StatusCode::NOT_FOUND);
    app.upload(&bob, p, &[("a.png", &png(8, 8, 1))]).await.expect(StatusCode::NOT_FOUND);
    // The admin sees every project.
    assert_eq!(app.get("/api/v1/projects", &admin).await.expect(StatusCode::OK).as_array().unwrap().len(), 1);

    // As a viewer, Bob can read but not change.
    let members = app
        .post(&format!("/api/v1/projects/{p}/members"), &ann, json!({"email": "bob@example.com", "role": "viewer"}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(members.as_array().unwrap().len(), 2);
    assert_eq!(app.get("/api/v1/projects", &bob).await.expect(StatusCode::OK)[0]["role"], "viewer");
    app.get(&format!("/api/v1/projects/{p}"), &bob).await.expect(StatusCode::OK);
    app.patch(&format!("/api/v1/projects/{p}"), &bob, json!({"name": "mine"})).await.expect(StatusCode::FORBIDDEN);
    app.upload(&bob, p, &[("a.png", &png(8, 8, 1))]).await.expect(StatusCode::FORBIDDEN);
    app.post(&format!("/api/v1/projects/{p}/members"), &bob, json!({"email": "bob@example.com", "role": "owner"}))
        .await
        .expect(StatusCode::FORBIDDEN);
    // As an editor he can upload.
    app.post(&format!("/api/v1/projects/{p}/members"), &ann, json!({"email": "bob@example.com", "role": "editor"}))
        .await
        .expect(StatusCode::CREATED);
    app.upload(&bob, p, &[("a.png", &png(8, 8, 1))]).await.expect(StatusCode::CREATED);

    // The last owner cannot leave or be demoted; members can leave.
    let me = app.get("/api/v1/auth/me", &ann).await.expect(StatusCode::OK);
    let ann_id = me["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/projects/{p}/members/{ann_id}"), &ann).await.expect(StatusCode::CONFLICT);
    app.post(&format!("/api/v1/projects/{p}/members"), &ann, json!({"user_id": ann_id, "role": "viewer"}))
        .await
        .expect(StatusCode::CONFLICT);
    let bob_id = app.get("/api/v1/auth/me", &bob).await.expect(StatusCode::OK)["id"].as_i64().unwrap();
    app.delete(&format!("/api/v1/projects/{p}/members/{bob_id}"), &bob).await.expect(StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/projects/{p}"), &bob).await.expect(StatusCode::NOT_FOUND);
    let bad_role = app
        .post(&format!("/api/v1/projects/{p}/members"), &ann, json!({"user_id": bob_id, "role": "superuser"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_role["error"]["message"].as_str().unwrap().contains("superuser"));

    let renamed = app.patch(&format!("/api/v1/projects/{p}"), &ann, json!({"name": "  dogs "})).await.expect(StatusCode::OK);
    assert_eq!(renamed["name"], "dogs");
    app.patch(&format!("/api/v1/projects/{p}"), &ann, json!({"name": "  "})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.delete(&format!("/api/v1/projects/{p}"), &ann).await.expect(StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/projects/{p}"), &ann).await.expect(StatusCode::NOT_FOUND);
}

async fn images_upload_list_download_label_delete(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, bob) = app.users().await;
    let p = app.project(&ann, "p").await;
    let (a, b, c) = (png(40, 30, 1), png(40, 30, 2), jpeg(20, 10));
    let up = app.upload(&ann, p, &[("dir/a.png", &a), ("b.png", &b), ("a-again.png", &a), ("c.jpg", &c)]).await;
    let v = up.expect(StatusCode::CREATED);
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    assert_eq!(images[0]["filename"], "a.png", "directories are stripped from names");
    assert_eq!((images[0]["width"].as_u64(), images[0]["height"].as_u64()), (Some(40), Some(30)));
    assert_eq!(images[2]["content_type"], "image/jpeg");
    assert_eq!(v["skipped"][0]["filename"], "a-again.png");
    assert!(v["skipped"][0]["reason"].as_str().unwrap().contains("duplicate"));
    let a_id = images[0]["id"].as_i64().unwrap();

    // Uploading the same file again is skipped, not an error.
    let again = app.upload(&ann, p, &[("a.png", &a)]).await.expect(StatusCode::CREATED);
    assert_eq!((again["images"].as_array().unwrap().len(), again["skipped"].as_array().unwrap().len()), (0, 1));

    let page = app.get(&format!("/api/v1/projects/{p}/images?page=2&per_page=2"), &ann).await.expect(StatusCode::OK);
    assert_eq!((page["total"].as_i64(), page["items"].as_array().unwrap().len()), (Some(3), 1));
    assert_eq!(page["items"][0]["filename"], "c.jpg");
    app.get(&format!("/api/v1/projects/{p}/images?per_page=0"), &ann).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.get(&format!("/api/v1/projects/{p}/images?page=x"), &ann).await.expect(StatusCode::BAD_REQUEST);

    let file = app.get(&format!("/api/v1/images/{a_id}/file"), &ann).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(file.body.as_ref(), a.as_slice());
    app.get(&format!("/api/v1/images/{a_id}/file"), &bob).await.expect(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/images/{a_id}"), &bob).await.expect(StatusCode::NOT_FOUND);

    let labelled = app.patch(&format!("/api/v1/images/{a_id}"), &ann, json!({"class_label": "cat"})).await.expect(StatusCode::OK);
    assert_eq!(labelled["class_label"], "cat");
    app.patch(&format!("/api/v1/images/{a_id}"), &ann, json!({"class_label": " "})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.patch(&format!("/api/v1/images/{a_id}"), &ann, json!({"label": "dog"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get(&format!("/api/v1/images/{a_id}"), &ann).await.expect(StatusCode::OK)["class_label"], "cat");
    let cleared = app.patch(&format!("/api/v1/images/{a_id}"), &ann, json!({"class_label": null})).await.expect(StatusCode::OK);
    assert!(cleared["class_label"].is_null());

    let stored = app.state.storage.image_file(&format!("{}/{}.png", &images[0]["sha256"].as_str().unwrap()[..2], images[0]["sha256"].as_str().unwrap())).unwrap();
    assert!(stored.exists());
    app.delete(&format!("/api/v1/images/{a_id}"), &ann).await.expect(StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/images/{a_id}"), &ann).await.expect(StatusCode::NOT_FOUND);
    assert!(!stored.exists(), "the file of a deleted image is removed");
}

async fn bad_uploads_are_rejected_and_change_nothing(backend: Backend) {
    let app = TestApp::with_config(backend, |c| c.max_upload_bytes = 256 * 1024).await;
    let (_admin, ann, _bob) = app.users().await;
    let p = app.project(&ann, "p").await;
    let good = png(16, 16, 1);
    let count = || async { app.get(&format!("/api/v1/projects/{p}/images"), &ann).await.expect(StatusCode::OK)["total"].as_i64().unwrap() };

    let truncated = &good[..good.len() / 2];
    let corrupt = app.upload(&ann, p, &[("good.png", &good), ("broken.png", truncated)]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(corrupt["error"]["details"]["filename"], "broken.png");
    let text = app.upload(&ann, p, &[("notes.png", b"just some text")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text["error"]["message"].as_str().unwrap().contains("not an image"));
    app.upload(&ann, p, &[("empty.png", b"")]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.upload_parts(&ann, p, "image", &[("good.png", &good)]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.upload(&ann, p, &[]).await.expect(StatusCode::UNPROCESSABLE_ENTITY);

    // Larger than the configured limit: 413 with a JSON body.
    let huge = vec![7u8; 300 * 1024];
    let too_big = app.upload(&ann, p, &[("good.png", &good), ("huge.png", &huge)]).await.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_big["error"]["code"], "payload_too_large");

    // Not multipart at all.
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/projects/{p}/images"))
        .header(header::AUTHORIZATION, format!("Bearer {ann}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    app.send(req).await.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);

    assert_eq!(count().await, 0, "no bad request stored anything");
    let files: Vec<_> = walk(&app.state.storage.root().join("images"));
    assert!(files.is_empty(), "no files left behind: {files:?}");
    app.upload(&ann, p, &[("good.png", &good)]).await.expect(StatusCode::CREATED);
    assert_eq!(count().await, 1);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

async fn annotations_are_validated_and_clipped(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (_admin, ann, bob) = app.users().await;
    let p = app.project(&ann, "p").await;
    let up = app.upload(&ann, p, &[("a.png", &png(100, 50, 1))]).await.expect(StatusCode::CREATED);
    let img = up["images"][0]["id"].as_i64().unwrap();
    let url = format!("/api/v1/images/{img}/annotations");

    let circle = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 10, "y": 10, "size": 5}, "class_label": "ball"})).await.expect(StatusCode::CREATED);
    assert_eq!((circle["source"].as_str(), circle["confidence"].is_null()), (Some("manual"), true));
    let bx = app
        .post(&url, &ann, json!({"type": "box", "data": {"corners": [[-10, 5], [150, 5], [150, 20], [-10, 20]]}, "class_label": "bar", "confidence": 0.9, "source": "manual"}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(bx["data"]["corners"], json!([[0.0, 5.0], [100.0, 5.0], [100.0, 20.0], [0.0, 20.0]]), "clipped to the image");
    let poly = app.post(&url, &ann, json!({"type": "polygon", "data": {"points": [[1, 1], [20, 1], [10, 15]]}, "class_label": "tri"})).await.expect(StatusCode::CREATED);
    app.post(&url, &ann, json!({"type": "rectangle", "data": {"corners": [[1, 1], [9, 1], [9, 9], [1, 9]]}, "class_label": "r"})).await.expect(StatusCode::CREATED);

    let before = app.get(&url, &ann).await.expect(StatusCode::OK);
    assert_eq!(before.as_array().unwrap().len(), 4);
    let field = |v: serde_json::Value| v["error"]["details"]["field"].as_str().unwrap_or_default().to_string();

    // Each bad input: a clear 4xx naming the problem.
    let two_points = app.post(&url, &ann, json!({"type": "polygon", "data": {"points": [[1, 1], [20, 1]]}, "class_label": "x"})).await;
    assert_eq!(field(two_points.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.points");
    let nan_raw = app
        .raw_json(Method::POST, &url, &ann, r#"{"type": "circle", "data": {"x": NaN, "y": 1, "size": 2}, "class_label": "x"}"#)
        .await
        .expect(StatusCode::BAD_REQUEST);
    assert!(nan_raw["error"]["message"].as_str().unwrap().contains("malformed JSON"));
    let nan_str = app.post(&url, &ann, json!({"type": "circle", "data": {"x": "NaN", "y": 1, "size": 2}, "class_label": "x"})).await;
    assert_eq!(field(nan_str.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data");
    let malformed = app.raw_json(Method::POST, &url, &ann, r#"{"type": "circle", "data": "#).await;
    malformed.expect(StatusCode::BAD_REQUEST);
    let unknown = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 1, "y": 1, "size": 2}, "class_label": "x", "colour": "red"})).await;
    let unknown = unknown.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown["error"]["message"].as_str().unwrap().contains("colour"));
    assert_eq!(field(unknown), "colour");
    let unknown_in_data = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 1, "y": 1, "size": 2, "z": 0}, "class_label": "x"})).await;
    assert_eq!(field(unknown_in_data.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data");
    let outside = app.post(&url, &ann, json!({"type": "box", "data": {"corners": [[120, 1], [190, 1], [190, 9], [120, 9]]}, "class_label": "x"})).await;
    assert_eq!(field(outside.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.corners");
    let three_corners = app.post(&url, &ann, json!({"type": "box", "data": {"corners": [[1, 1], [3, 1], [3, 3]]}, "class_label": "x"})).await;
    assert_eq!(field(three_corners.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.corners");
    let zero_radius = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 5, "y": 5, "size": 0}, "class_label": "x"})).await;
    assert_eq!(field(zero_radius.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.size");
    let no_label = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 5, "y": 5, "size": 1}, "class_label": ""})).await;
    assert_eq!(field(no_label.expect(StatusCode::UNPROCESSABLE_ENTITY)), "class_label");
    let bad_conf = app.post(&url, &ann, json!({"type": "circle", "data": {"x": 5, "y": 5, "size": 1}, "class_label": "x", "confidence": 1.5})).await;
    assert_eq!(field(bad_conf.expect(StatusCode::UNPROCESSABLE_ENTITY)), "confidence");
    let bad_type = app.post(&url, &ann, json!({"type": "blob", "data": {}, "class_label": "x"})).await;
    bad_type.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let image_class = app.post(&url, &ann, json!({"type": "image_class", "data": {}, "class_label": "x"})).await;
    assert_eq!(field(image_class.expect(StatusCode::UNPROCESSABLE_ENTITY)), "type");
    app.post(&url, &bob, json!({"type": "circle", "data": {"x": 5, "y": 5, "size": 1}, "class_label": "x"})).await.expect(StatusCode::NOT_FOUND);

    // Updates: validated as a whole; a bad one leaves the row unchanged.
    let poly_id = poly["id"].as_i64().unwrap();
    let aurl = format!("/api/v1/annotations/{poly_id}");
    let bad_update = app.patch(&aurl, &ann, json!({"data": {"points": [[1, 1], [2, 2]]}})).await;
    assert_eq!(field(bad_update.expect(StatusCode::UNPROCESSABLE_ENTITY)), "data.points");
    app.patch(&aurl, &ann, json!({"type": "circle"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.patch(&aurl, &ann, json!({"shape": "circle"})).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let after = app.get(&url, &ann).await.expect(StatusCode::OK);
    assert_eq!(before, after, "bad requests changed nothing");

    let relabelled = app.patch(&aurl, &ann, json!({"class_label": "triangle", "confidence": 0.5})).await.expect(StatusCode::OK);
    assert_eq!((relabelled["class_label"].as_str(), relabelled["confidence"].as_f64()), (Some("triangle"), Some(0.5)));
    assert_eq!(relabelled["data"], poly["data"]);
    let cleared = app.patch(&aurl, &ann, json!({"confidence": null})).await.expect(StatusCode::OK);
    assert!(cleared["confidence"].is_null());
    let retyped = app.patch(&aurl, &ann, json!({"type": "circle", "data": {"x": 50, "y": 25, "size": 3}})).await.expect(StatusCode::OK);
    assert_eq!(retyped["type"], "circle");
    app.get(&aurl, &ann).await.expect(StatusCode::OK);
    app.get(&aurl, &bob).await.expect(StatusCode::NOT_FOUND);
    app.patch(&aurl, &bob, json!({"class_label": "mine"})).await.expect(StatusCode::NOT_FOUND);

    // Project-wide listing with paging; the image list counts annotations.
    let page = app.get(&format!("/api/v1/projects/{p}/annotations?per_page=3&page=2"), &ann).await.expect(StatusCode::OK);
    assert_eq!((page["total"].as_i64(), page["items"].as_array().unwrap().len()), (Some(4), 1));
    let images = app.get(&format!("/api/v1/projects/{p}/images"), &ann).await.expect(StatusCode::OK);
    assert_eq!(images["items"][0]["annotation_count"], 4);

    app.delete(&format!("/api/v1/annotations/{}", bx["id"]), &ann).await.expect(StatusCode::NO_CONTENT);
    app.delete(&format!("/api/v1/annotations/{}", bx["id"]), &ann).await.expect(StatusCode::NOT_FOUND);
    assert_eq!(app.get(&url, &ann).await.expect(StatusCode::OK).as_array().unwrap().len(), 3);
    let _ = circle;
}

async fn unknown_routes_and_health(backend: Backend) {
    let app = TestApp::new(backend).await;
    let health = app.call(Method::GET, "/healthz", None, None).await.expect(StatusCode::OK);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], if backend == Backend::Sqlite { "sqlite" } else { "postgres" });
    let token = app.user("a@example.com").await;
    let missing = app.get("/api/v1/nothing-here", &token).await.expect(StatusCode::NOT_FOUND);
    assert!(missing["error"]["message"].as_str().unwrap().contains("/api/v1/nothing-here"));
}

async fn real_server_round_trip(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (addr, _stop) = app.listen().await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let health: serde_json::Value = http.get(format!("{base}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let creds = json!({"email": "real@example.com", "password": "password123"});
    assert_eq!(http.post(format!("{base}/api/v1/auth/register")).json(&creds).send().await.unwrap().status(), 201);
    let login: serde_json::Value = http.post(format!("{base}/api/v1/auth/login")).json(&creds).send().await.unwrap().json().await.unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    let project: serde_json::Value = http
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&token)
        .json(&json!({"name": "real"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bytes = png(12, 12, 3);
    let form = reqwest::multipart::Form::new()
        .part("files", reqwest::multipart::Part::bytes(bytes.clone()).file_name("x.png"))
        .part("files", reqwest::multipart::Part::bytes(png(12, 12, 4)).file_name("y.png"));
    let res = http.post(format!("{base}/api/v1/projects/{}/images", project["id"])).bearer_auth(&token).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let up: serde_json::Value = res.json().await.unwrap();
    let file_url = up["images"][0]["file_url"].as_str().unwrap();
    let got = http.get(format!("{base}{file_url}?token={token}")).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

backend_tests!(
    auth_register_login_me,
    closed_registration_lets_only_admins_create_accounts,
    projects_are_private_to_members,
    images_upload_list_download_label_delete,
    bad_uploads_are_rejected_and_change_nothing,
    annotations_are_validated_and_clipped,
    unknown_routes_and_health,
    real_server_round_trip,
);
