//! Image records. The files themselves live in the server's storage module, addressed by
//! `storage_key`; identical content shares one file, so a file is removed only when no row
//! refers to its key any more.

use chrono::{DateTime, Utc};

use crate::{on_pool, Db, DbError, DbResult, Page, WithTotal};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Image {
    pub id: i64,
    pub project_id: i64,
    pub filename: String,
    pub storage_key: String,
    pub content_type: String,
    pub width: i64,
    pub height: i64,
    pub size_bytes: i64,
    pub sha256: String,
    pub class_label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub annotation_count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    pub filename: String,
    pub storage_key: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    pub sha256: String,
    pub class_label: Option<String>,
}

/// What happened to one [`NewImage`] of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    Created(Image),
    /// The project already holds an image with the same content.
    Duplicate { existing_id: i64 },
}

macro_rules! image_select {
    () => {
        "select i.id, i.project_id, i.filename, i.storage_key, i.content_type, i.width, i.height, \
         i.size_bytes, i.sha256, i.class_label, i.created_at, i.updated_at, \
         (select count(*) from annotations a where a.image_id = i.id) as annotation_count \
         from images i "
    };
}

/// Inserts a batch in one transaction, skipping content the project already has (also within
/// the batch). Results are in input order.
pub async fn insert_many(db: &Db, project_id: i64, images: &[NewImage]) -> DbResult<Vec<Inserted>> {
    const INSERT: &str = "insert into images (project_id, filename, storage_key, content_type, width, height, \
        size_bytes, sha256, class_label) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
        on conflict (project_id, sha256) do nothing returning id";
    const EXISTING: &str = "select id from images where project_id = $1 and sha256 = $2";
    const GET: &str = concat!(image_select!(), "where i.id = $1");
    let out = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut out = Vec::with_capacity(images.len());
        for img in images {
            let id: Option<i64> = sqlx::query_scalar(INSERT)
                .bind(project_id)
                .bind(&img.filename)
                .bind(&img.storage_key)
                .bind(&img.content_type)
                .bind(img.width as i64)
                .bind(img.height as i64)
                .bind(img.size_bytes as i64)
                .bind(&img.sha256)
                .bind(&img.class_label)
                .fetch_optional(&mut *tx)
                .await?;
            out.push(match id {
                Some(id) => Inserted::Created(sqlx::query_as::<_, Image>(GET).bind(id).fetch_one(&mut *tx).await?),
                None => {
                    let existing_id: i64 =
                        sqlx::query_scalar(EXISTING).bind(project_id).bind(&img.sha256).fetch_one(&mut *tx).await?;
                    Inserted::Duplicate { existing_id }
                }
            });
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(out)
    })?;
    Ok(out)
}

pub async fn get(db: &Db, id: i64) -> DbResult<Image> {
    const SQL: &str = concat!(image_select!(), "where i.id = $1");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Image>(SQL).bind(id).fetch_one(pool).await)?)
}

/// One page of a project's images in upload order, and the project's total (a column of the
/// page's rows, so one round trip; a page past the end counts separately).
pub async fn list(db: &Db, project_id: i64, page: Page) -> DbResult<(Vec<Image>, i64)> {
    const SQL: &str = "select i.id, i.project_id, i.filename, i.storage_key, i.content_type, i.width, i.height, \
         i.size_bytes, i.sha256, i.class_label, i.created_at, i.updated_at, \
         (select count(*) from annotations a where a.image_id = i.id) as annotation_count, \
         (select count(*) from images c where c.project_id = $1) as total \
         from images i where i.project_id = $1 order by i.id limit $2 offset $3";
    const COUNT: &str = "select count(*) from images where project_id = $1";
    on_pool!(db, pool => {
        let rows = sqlx::query_as::<_, WithTotal<Image>>(SQL).bind(project_id).bind(page.limit()).bind(page.offset()).fetch_all(pool).await?;
        let total = match rows.first() {
            Some(r) => r.total,
            None => sqlx::query_scalar(COUNT).bind(project_id).fetch_one(pool).await?,
        };
        Ok((rows.into_iter().map(|r| r.row).collect(), total))
    })
}

/// Every image of a project (export, dataset preparation).
pub async fn list_all(db: &Db, project_id: i64) -> DbResult<Vec<Image>> {
    const SQL: &str = concat!(image_select!(), "where i.project_id = $1 order by i.id");
    Ok(on_pool!(db, pool => sqlx::query_as::<_, Image>(SQL).bind(project_id).fetch_all(pool).await)?)
}

/// Sets (or clears) the image-level class label used by classification.
pub async fn set_class_label(db: &Db, id: i64, class_label: Option<&str>) -> DbResult<Image> {
    const SQL: &str = "update images set class_label = $2, updated_at = $3 where id = $1";
    let done = on_pool!(db, pool => sqlx::query(SQL).bind(id).bind(class_label).bind(Utc::now()).execute(pool).await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(DbError::NotFound);
    }
    get(db, id).await
}

/// Deletes the image (and its annotations); returns the row as it was.
pub async fn delete(db: &Db, id: i64) -> DbResult<Image> {
    let image = get(db, id).await?;
    const SQL: &str = "delete from images where id = $1";
    on_pool!(db, pool => sqlx::query(SQL).bind(id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(image)
}

/// Whether any image row still refers to this stored file.
pub async fn storage_key_in_use(db: &Db, storage_key: &str) -> DbResult<bool> {
    const SQL: &str = "select exists (select 1 from images where storage_key = $1)";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, bool>(SQL).bind(storage_key).fetch_one(pool).await)?)
}

/// The distinct storage keys of a project's images (to clean files up after deleting it).
pub async fn storage_keys(db: &Db, project_id: i64) -> DbResult<Vec<String>> {
    const SQL: &str = "select distinct storage_key from images where project_id = $1";
    Ok(on_pool!(db, pool => sqlx::query_scalar::<_, String>(SQL).bind(project_id).fetch_all(pool).await)?)
}
