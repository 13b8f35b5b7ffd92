//! The repositories against real databases: every test runs on SQLite and on a throwaway
//! PostgreSQL cluster.

use af_core::{AnnotationSource, AnnotationType, ProjectRole, UserRole};
use af_db::images::{Inserted, NewImage};
use af_db::testing::TestDb;
use af_db::{annotations, backend_tests, images, projects, users, Backend, DbError, Page};
use serde_json::json;

fn new_image(name: &str, sha: &str) -> NewImage {
    NewImage {
        filename: name.into(),
        storage_key: format!("{sha}.png"),
        content_type: "image/png".into(),
        width: 64,
        height: 48,
        size_bytes: 100,
        sha256: sha.into(),
        class_label: None,
    }
}

async fn first_user_is_admin_and_emails_are_unique(backend: Backend) {
    let t = TestDb::new(backend).await;
    let a = users::create(&t.db, "Ann@Example.com", "h1").await.unwrap();
    let b = users::create(&t.db, "bob@example.com", "h2").await.unwrap();
    assert_eq!((a.role, b.role), (UserRole::Admin, UserRole::User));
    assert_eq!(a.email, "ann@example.com");
    assert!(matches!(users::create(&t.db, "ANN@example.com", "h3").await, Err(DbError::Conflict(_))));
    let (u, hash) = users::credentials(&t.db, "ann@EXAMPLE.com").await.unwrap();
    assert_eq!((u.id, hash.as_str()), (a.id, "h1"));
    assert!(matches!(users::get(&t.db, 9999).await, Err(DbError::NotFound)));
}

async fn concurrent_first_users_make_exactly_one_admin(backend: Backend) {
    let t = TestDb::new(backend).await;
    // Several rounds on an empty table: a race needs the inserts to overlap, which one round
    // may not hit.
    for round in 0..5 {
        let creates = (0..16).map(|i| {
            let db = t.db.clone();
            tokio::spawn(async move { users::create(&db, &format!("r{round}u{i}@x"), "h").await.unwrap() })
        });
        let made: Vec<_> = futures::future::join_all(creates).await.into_iter().map(Result::unwrap).collect();
        let admins = made.iter().filter(|u| u.role == UserRole::Admin).count();
        assert_eq!(admins, 1, "round {round}: {made:?}");
        af_db::on_pool!(&t.db, pool => sqlx::query("delete from users").execute(pool).await.map(|_| ())).unwrap();
    }
}

async fn projects_are_listed_by_membership(backend: Backend) {
    let t = TestDb::new(backend).await;
    let admin = users::create(&t.db, "admin@x", "h").await.unwrap();
    let ann = users::create(&t.db, "ann@x", "h").await.unwrap();
    let bob = users::create(&t.db, "bob@x", "h").await.unwrap();
    let p = projects::create(&t.db, Some(ann.id), "shapes", "d").await.unwrap();
    assert_eq!(projects::list_for(&t.db, ann.id, false).await.unwrap().len(), 1);
    assert!(projects::list_for(&t.db, bob.id, false).await.unwrap().is_empty());
    assert_eq!(projects::list_for(&t.db, admin.id, true).await.unwrap().len(), 1);
    assert_eq!(projects::member_role(&t.db, p, ann.id).await.unwrap(), Some(ProjectRole::Owner));
    assert_eq!(projects::member_role(&t.db, p, bob.id).await.unwrap(), None);

    projects::set_member(&t.db, p, bob.id, ProjectRole::Viewer).await.unwrap();
    projects::set_member(&t.db, p, bob.id, ProjectRole::Editor).await.unwrap();
    let listed = projects::list_for(&t.db, bob.id, false).await.unwrap();
    assert_eq!(listed[0].role, ProjectRole::Editor);
    assert_eq!(projects::members(&t.db, p).await.unwrap().len(), 2);
    assert_eq!(projects::owner_count(&t.db, p).await.unwrap(), 1);
    projects::remove_member(&t.db, p, bob.id).await.unwrap();
    assert!(matches!(projects::remove_member(&t.db, p, bob.id).await, Err(DbError::NotFound)));

    projects::update(&t.db, p, Some("renamed"), None).await.unwrap();
    let got = projects::get_for(&t.db, p, ann.id).await.unwrap();
    assert_eq!((got.name.as_str(), got.description.as_str()), ("renamed", "d"));
    projects::delete(&t.db, p).await.unwrap();
    assert!(!projects::exists(&t.db, p).await.unwrap());
}

async fn orphan_projects_are_adopted(backend: Backend) {
    let t = TestDb::new(backend).await;
    let p = projects::create(&t.db, None, "demo", "").await.unwrap();
    let admin = users::create(&t.db, "admin@x", "h").await.unwrap();
    assert_eq!(projects::adopt_orphans(&t.db, admin.id).await.unwrap(), 1);
    assert_eq!(projects::member_role(&t.db, p, admin.id).await.unwrap(), Some(ProjectRole::Owner));
    assert_eq!(projects::adopt_orphans(&t.db, admin.id).await.unwrap(), 0);
}

async fn images_skip_duplicates_and_cascade(backend: Backend) {
    let t = TestDb::new(backend).await;
    let u = users::create(&t.db, "a@x", "h").await.unwrap();
    let p = projects::create(&t.db, Some(u.id), "p", "").await.unwrap();
    let p2 = projects::create(&t.db, Some(u.id), "p2", "").await.unwrap();
    let out = images::insert_many(&t.db, p, &[new_image("a.png", "aa"), new_image("b.png", "bb"), new_image("a2.png", "aa")])
        .await
        .unwrap();
    let Inserted::Created(a) = &out[0] else { panic!("{out:?}") };
    assert!(matches!(out[1], Inserted::Created(_)));
    assert_eq!(out[2], Inserted::Duplicate { existing_id: a.id });
    // The same content in another project is not a duplicate.
    assert!(matches!(images::insert_many(&t.db, p2, &[new_image("a.png", "aa")]).await.unwrap()[0], Inserted::Created(_)));

    let ann = annotations::NewAnnotation {
        image_id: a.id,
        ty: AnnotationType::Box,
        data: json!({"corners": [[1, 1], [5, 1], [5, 5], [1, 5]]}),
        class_label: "cat".into(),
        confidence: Some(0.5),
        source: AnnotationSource::CustomModel,
        created_by: Some(u.id),
    };
    let made = annotations::insert(&t.db, &ann).await.unwrap();
    assert_eq!((made.project_id, made.ty, made.source), (p, AnnotationType::Box, AnnotationSource::CustomModel));
    assert_eq!(made.data.0, ann.data);
    let (page, total) = images::list(&t.db, p, Page { page: 1, per_page: 1 }).await.unwrap();
    assert_eq!((page.len(), total, page[0].annotation_count), (1, 2, 1));
    let (annots, total) = annotations::list_by_project(&t.db, p, Page { page: 1, per_page: 10 }).await.unwrap();
    assert_eq!((annots.len(), total), (1, 1));
    assert_eq!(serde_json::from_str::<serde_json::Value>(annots[0].data.0.get()).unwrap(), ann.data);
    // A page past the end is empty but still knows the totals.
    let (annots, total) = annotations::list_by_project(&t.db, p, Page { page: 2, per_page: 10 }).await.unwrap();
    assert_eq!((annots.len(), total), (0, 1));
    let (page, total) = images::list(&t.db, p, Page { page: 2, per_page: 2 }).await.unwrap();
    assert_eq!((page.len(), total), (0, 2));
    let (page, total) = images::list(&t.db, p, Page { page: 2, per_page: 1 }).await.unwrap();
    assert_eq!((page.len(), total), (1, 2));

    let mut changed = ann.clone();
    changed.class_label = "dog".into();
    changed.confidence = None;
    let updated = annotations::update(&t.db, made.id, &changed).await.unwrap();
    assert_eq!((updated.class_label.as_str(), updated.confidence), ("dog", None));
    // A confidence outside [0, 1] is refused by the CHECK constraint.
    changed.confidence = Some(2.0);
    assert!(matches!(annotations::update(&t.db, made.id, &changed).await, Err(DbError::Constraint(_))));

    let labelled = images::set_class_label(&t.db, a.id, Some("circle")).await.unwrap();
    assert_eq!(labelled.class_label.as_deref(), Some("circle"));
    images::delete(&t.db, a.id).await.unwrap();
    assert!(matches!(annotations::get(&t.db, made.id).await, Err(DbError::NotFound)));
    assert!(images::storage_key_in_use(&t.db, "aa.png").await.unwrap(), "still used by project 2");
    projects::delete(&t.db, p2).await.unwrap();
    assert!(!images::storage_key_in_use(&t.db, "aa.png").await.unwrap());
}

async fn annotations_need_an_existing_image(backend: Backend) {
    let t = TestDb::new(backend).await;
    let ann = annotations::NewAnnotation {
        image_id: 42,
        ty: AnnotationType::Circle,
        data: json!({"x": 1, "y": 1, "size": 1}),
        class_label: "c".into(),
        confidence: None,
        source: AnnotationSource::Manual,
        created_by: None,
    };
    assert!(matches!(annotations::insert(&t.db, &ann).await, Err(DbError::NotFound)));
}

/// PostgreSQL cannot store a NUL character in text or jsonb; that is a `Constraint` error (a
/// 422 at the API) rather than an opaque failure (a 500). SQLite stores it. The API refuses
/// NUL on both before this; the mapping is the backstop for any other way in.
async fn nul_text_is_a_constraint_error_where_it_cannot_be_stored(backend: Backend) {
    let t = TestDb::new(backend).await;
    let name = "bad\0name";
    let created = projects::create(&t.db, None, name, "").await;
    let found = users::find_by_email(&t.db, "nul\0@example.com").await;
    match backend {
        Backend::Sqlite => {
            created.unwrap();
            assert!(matches!(found, Err(DbError::NotFound)), "{found:?}");
        }
        Backend::Postgres => {
            assert!(matches!(&created, Err(DbError::Constraint(m)) if m.contains("NUL")), "{created:?}");
            assert!(matches!(&found, Err(DbError::Constraint(_))), "{found:?}");
        }
    }
    let p = projects::create(&t.db, None, "p", "").await.unwrap();
    let Inserted::Created(img) = images::insert_many(&t.db, p, &[new_image("a.png", "aa")]).await.unwrap().remove(0) else { panic!() };
    let ann = annotations::NewAnnotation {
        image_id: img.id,
        ty: AnnotationType::Circle,
        data: json!({"x": 1, "y": 1, "size": 1, "note": "a\0b"}),
        class_label: "c".into(),
        confidence: None,
        source: AnnotationSource::Manual,
        created_by: None,
    };
    let stored = annotations::insert(&t.db, &ann).await;
    match backend {
        Backend::Sqlite => assert!(stored.is_ok(), "{stored:?}"),
        Backend::Postgres => assert!(matches!(&stored, Err(DbError::Constraint(_))), "{stored:?}"),
    }
}

backend_tests!(
    nul_text_is_a_constraint_error_where_it_cannot_be_stored,
    first_user_is_admin_and_emails_are_unique,
    concurrent_first_users_make_exactly_one_admin,
    projects_are_listed_by_membership,
    orphan_projects_are_adopted,
    images_skip_duplicates_and_cascade,
    annotations_need_an_existing_image,
);

/// The two migration trees must describe the same tables and columns, so the shared SQL runs
/// on both (a column added to one dialect only fails here, not in production).
#[tokio::test]
async fn sqlite_and_postgres_schemas_have_the_same_columns() {
    let (lite, pg) = (TestDb::new(Backend::Sqlite).await, TestDb::new(Backend::Postgres).await);
    let mut lite_cols: Vec<(String, String)> = match &lite.db {
        af_db::Db::Sqlite(pool) => sqlx::query_as(
            "select m.name, p.name from sqlite_master m join pragma_table_info(m.name) p \
             where m.type = 'table' and m.name not like 'sqlite_%' and m.name != '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        _ => unreachable!(),
    };
    let mut pg_cols: Vec<(String, String)> = match &pg.db {
        af_db::Db::Postgres(pool) => sqlx::query_as(
            "select table_name::text, column_name::text from information_schema.columns \
             where table_schema = 'public' and table_name != '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        _ => unreachable!(),
    };
    lite_cols.sort();
    pg_cols.sort();
    assert!(lite_cols.len() > 40, "{lite_cols:?}");
    assert_eq!(lite_cols, pg_cols);
}
