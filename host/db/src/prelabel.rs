//! Pre-label runs: a model predicting over a whole project in the background, saving its
//! predictions as `custom_model` annotations. A run is a row with its counters, so a client
//! can poll it and a restarted server can tell unfinished runs from finished ones.

use chrono::{DateTime, Utc};

use crate::{on_pool, Db, DbError, DbResult};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Run {
    pub id: i64,
    pub project_id: i64,
    pub model_id: Option<i64>,
    pub created_by: Option<i64>,
    pub status: String,
    pub confidence: f64,
    pub iou: f64,
    pub only_unlabeled: bool,
    pub total_images: i64,
    pub processed_images: i64,
    pub skipped_images: i64,
    pub labeled_images: i64,
    pub annotations_created: i64,
    pub error_message: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, project_id, model_id, created_by, status, confidence, iou, only_unlabeled, total_images, \
    processed_images, skipped_images, labeled_images, annotations_created, error_message, heartbeat_at, started_at, \
    completed_at, created_at, updated_at";

pub async fn create(db: &Db, project_id: i64, model_id: i64, created_by: i64, confidence: f64, iou: f64, only_unlabeled: bool) -> DbResult<Run> {
    let sql = format!(
        "insert into prelabel_runs (project_id, model_id, created_by, status, confidence, iou, only_unlabeled, \
         heartbeat_at, created_at, updated_at) values ($1, $2, $3, 'pending', $4, $5, $6, $7, $7, $7) returning {COLUMNS}"
    );
    let now = Utc::now();
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Run>(&sql)
        .bind(project_id).bind(model_id).bind(created_by).bind(confidence).bind(iou).bind(only_unlabeled).bind(now)
        .fetch_one(pool).await)?)
}

pub async fn get(db: &Db, id: i64) -> DbResult<Run> {
    let sql = format!("select {COLUMNS} from prelabel_runs where id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Run>(&sql).bind(id).fetch_one(pool).await)?)
}

pub async fn list_for_project(db: &Db, project_id: i64) -> DbResult<Vec<Run>> {
    let sql = format!("select {COLUMNS} from prelabel_runs where project_id = $1 order by id desc");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Run>(&sql).bind(project_id).fetch_all(pool).await)?)
}

/// Marks the run started with its image count.
pub async fn start(db: &Db, id: i64, total_images: i64) -> DbResult<()> {
    const SQL: &str = "update prelabel_runs set status = 'running', total_images = $2, started_at = $3, heartbeat_at = $3, \
        updated_at = $3 where id = $1 and status = 'pending'";
    let now = Utc::now();
    let n = on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(total_images).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(DbError::NotFound);
    }
    Ok(())
}

/// Counter increments since the last call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub processed: i64,
    pub skipped: i64,
    pub labeled: i64,
    pub annotations: i64,
}

/// Adds to the counters and refreshes the heartbeat.
pub async fn add_progress(db: &Db, id: i64, p: Progress) -> DbResult<()> {
    const SQL: &str = "update prelabel_runs set processed_images = processed_images + $2, skipped_images = skipped_images + $3, \
        labeled_images = labeled_images + $4, annotations_created = annotations_created + $5, heartbeat_at = $6, \
        updated_at = $6 where id = $1";
    let now = Utc::now();
    on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(p.processed).bind(p.skipped).bind(p.labeled).bind(p.annotations).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends the run as `completed` or `failed` (with a message).
pub async fn finish(db: &Db, id: i64, error: Option<&str>) -> DbResult<Run> {
    let sql = format!(
        "update prelabel_runs set status = $2, error_message = $3, completed_at = $4, updated_at = $4 \
         where id = $1 returning {COLUMNS}"
    );
    let status = if error.is_some() { "failed" } else { "completed" };
    let now = Utc::now();
    let row = on_pool!(db, pool => sqlx::query_as::<_, Run>(&sql).bind(id).bind(status).bind(error).bind(now).fetch_optional(pool).await)?;
    row.ok_or(DbError::NotFound)
}

/// Fails unfinished runs whose heartbeat is older than `cutoff` (their process died).
pub async fn fail_stale(db: &Db, cutoff: DateTime<Utc>, message: &str) -> DbResult<u64> {
    const SQL: &str = "update prelabel_runs set status = 'failed', error_message = $2, completed_at = $3, updated_at = $3 \
        where status in ('pending', 'running') and (heartbeat_at is null or heartbeat_at < $1)";
    let now = Utc::now();
    Ok(on_pool!(db, pool => sqlx::query(SQL).bind(cutoff).bind(message).bind(now).execute(pool).await.map(|r| r.rows_affected()))?)
}

/// Images of a project that have at least one hand-made (`manual`) annotation.
pub async fn images_with_manual_annotations(db: &Db, project_id: i64) -> DbResult<Vec<i64>> {
    const SQL: &str = "select distinct image_id from annotations where project_id = $1 and source = 'manual' order by image_id";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).bind(project_id).fetch_all(pool).await)?)
}

/// Replaces an image's model-made (`custom_model`) annotations with `new` (all of source
/// `custom_model`), in one transaction; hand-made ones stay. Returns the stored rows.
pub async fn replace_model_annotations(
    db: &Db,
    image_id: i64,
    new: &[crate::annotations::NewAnnotation],
) -> DbResult<Vec<crate::annotations::Annotation>> {
    const DELETE: &str = "delete from annotations where image_id = $1 and source = 'custom_model'";
    const INSERT: &str = "insert into annotations (image_id, project_id, type, data, class_label, confidence, source, created_by) \
         select $1, project_id, $2, $3, $4, $5, $6, $7 from images where id = $1 returning id, image_id, project_id, type, \
         data, class_label, confidence, source, created_by, created_at, updated_at";
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(DELETE).bind(image_id).execute(&mut *tx).await?;
        let mut out = Vec::with_capacity(new.len());
        for a in new {
            let row = sqlx::query_as::<_, crate::annotations::Annotation>(INSERT)
                .bind(image_id)
                .bind(a.ty.as_str())
                .bind(sqlx::types::Json(&a.data))
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
