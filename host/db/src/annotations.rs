//! Shape annotations on images. Rows carry their image's `project_id` too, so a project's
//! annotations page through one index range (`annotations_project`).

use af_core::{AnnotationSource, AnnotationType};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

use crate::{on_pool, Db, DbError, DbResult, Page, WithTotal};

/// The stored JSON text of `data`, passed through without parsing (see [`Annotation`]).
pub type RawJson = Box<serde_json::value::RawValue>;

/// A stored annotation. `D` is how `data` is decoded: a parsed [`serde_json::Value`] (the
/// default, for code that reads shapes) or [`RawJson`], the stored text as it is, for list
/// endpoints that only pass it on (parsing and re-serialising every shape of a page was a
/// large part of their cost).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Annotation<D = serde_json::Value> {
    pub id: i64,
    pub image_id: i64,
    pub project_id: i64,
    #[sqlx(rename = "type", try_from = "String")]
    pub ty: AnnotationType,
    pub data: Json<D>,
    pub class_label: String,
    pub confidence: Option<f64>,
    #[sqlx(try_from = "String")]
    pub source: AnnotationSource,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated annotation to store (the server validates shapes with `af_core` first).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnnotation {
    pub image_id: i64,
    pub ty: AnnotationType,
    pub data: serde_json::Value,
    pub class_label: String,
    pub confidence: Option<f64>,
    pub source: AnnotationSource,
    pub created_by: Option<i64>,
}

const COLUMNS: &str = "id, image_id, project_id, type, data, class_label, confidence, source, created_by, created_at, updated_at";

macro_rules! annotation_select {
    () => {
        "select id, image_id, project_id, type, data, class_label, confidence, source, created_by, created_at, \
         updated_at from annotations "
    };
}

/// Inserts annotations in one transaction; each takes its image's project. Returns them in order.
pub async fn insert_many(db: &Db, items: &[NewAnnotation]) -> DbResult<Vec<Annotation>> {
    let sql = format!(
        "insert into annotations (image_id, project_id, type, data, class_label, confidence, source, created_by) \
         select $1, project_id, $2, $3, $4, $5, $6, $7 from images where id = $1 returning {COLUMNS}"
    );
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut out = Vec::with_capacity(items.len());
        for a in items {
            let row = sqlx::query_as::<_, Annotation>(&sql)
                .bind(a.image_id)
                .bind(a.ty.as_str())
                .bind(Json(&a.data))
                .bind(&a.class_label)
                .bind(a.confidence)
                .bind(a.source.as_str())
                .bind(a.created_by)
                .fetch_optional(&mut *tx)
                .await?;
            out.push(row.ok_or(DbError::NotFound)?);
        }
        tx.commit().await?;
        Ok::<_, DbError>(out)
    })?;
    Ok(out)
}

pub async fn insert(db: &Db, item: &NewAnnotation) -> DbResult<Annotation> {
    Ok(insert_many(db, std::slice::from_ref(item)).await?.remove(0))
}

pub async fn get(db: &Db, id: i64) -> DbResult<Annotation> {
    const SQL: &str = concat!(annotation_select!(), "where id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Annotation>(SQL).bind(id).fetch_one(pool).await)?)
}

/// The image's annotations in creation order, `data` as stored.
pub async fn list_by_image(db: &Db, image_id: i64) -> DbResult<Vec<Annotation<RawJson>>> {
    const SQL: &str = concat!(annotation_select!(), "where image_id = $1 order by id");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Annotation<RawJson>>(SQL).bind(image_id).fetch_all(pool).await)?)
}

/// One page of a project's annotations in creation order (`data` as stored), and the
/// project's total. The total rides along as a column of the page's rows (one statement,
/// one round trip); only a page past the end needs a separate count.
pub async fn list_by_project(db: &Db, project_id: i64, page: Page) -> DbResult<(Vec<Annotation<RawJson>>, i64)> {
    // SQLite reads the whole row of every skipped one under OFFSET; skipping over the
    // covering index and fetching only the page's rows by id is ~1.5x faster there. PostgreSQL
    // plans that form as a hash join over the whole table, so it keeps the plain one.
    const SQLITE: &str = concat!(
        "select id, image_id, project_id, type, data, class_label, confidence, source, created_by, created_at, updated_at, ",
        "(select count(*) from annotations where project_id = $1) as total from annotations ",
        "where id in (select id from annotations where project_id = $1 order by id limit $2 offset $3) order by id"
    );
    const POSTGRES: &str = concat!(
        "select id, image_id, project_id, type, data, class_label, confidence, source, created_by, created_at, updated_at, ",
        "(select count(*) from annotations where project_id = $1) as total from annotations ",
        "where project_id = $1 order by id limit $2 offset $3"
    );
    const COUNT: &str = "select count(*) from annotations where project_id = $1";
    let sql = match db {
        Db::Sqlite(_) => SQLITE,
        Db::Postgres(_) => POSTGRES,
    };
    on_pool!(db, pool => {
        let rows = sqlx::query_as::<_, WithTotal<Annotation<RawJson>>>(sql)
            .bind(project_id)
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
        let total = match rows.first() {
            Some(r) => r.total,
            None => sqlx::query_scalar(COUNT).bind(project_id).fetch_one(pool).await?,
        };
        Ok((rows.into_iter().map(|r| r.row).collect(), total))
    })
}

/// Every annotation of a project (export, dataset preparation).
pub async fn list_all_by_project(db: &Db, project_id: i64) -> DbResult<Vec<Annotation>> {
    const SQL: &str = concat!(annotation_select!(), "where project_id = $1 order by id");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Annotation>(SQL).bind(project_id).fetch_all(pool).await)?)
}

/// Replaces the editable fields of an annotation (the caller merged and validated them).
pub async fn update(db: &Db, id: i64, a: &NewAnnotation) -> DbResult<Annotation> {
    let sql = format!(
        "update annotations set type = $2, data = $3, class_label = $4, confidence = $5, source = $6, \
         updated_at = $7 where id = $1 returning {COLUMNS}"
    );
    let row = on_pool!(db, pool => sqlx::query_as::<_, Annotation>(&sql)
        .bind(id)
        .bind(a.ty.as_str())
        .bind(Json(&a.data))
        .bind(&a.class_label)
        .bind(a.confidence)
        .bind(a.source.as_str())
        .bind(Utc::now())
        .fetch_optional(pool)
        .await)?;
    row.ok_or(DbError::NotFound)
}

pub async fn delete(db: &Db, id: i64) -> DbResult<()> {
    const SQL: &str = "delete from annotations where id = $1";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}
