//! The job queue, event log, metrics and model registry against real databases (SQLite and a
//! throwaway PostgreSQL cluster): atomic claims under contention, gap-free event numbering,
//! guarded updates, stale-heartbeat detection, registry names and usage.

use std::collections::HashSet;

use af_core::{JobStatus, TaskType};
use af_db::jobs::{self, JobUpdate, NewEpochMetrics, NewEvent, NewJob};
use af_db::models::{self, NewModel};
use af_db::testing::TestDb;
use af_db::{backend_tests, projects, users, Backend, Db};
use serde_json::json;

async fn setup(db: &Db) -> (i64, i64) {
    let user = users::create(db, "ann@x", "h").await.unwrap();
    let project = projects::create(db, Some(user.id), "p", "").await.unwrap();
    (user.id, project)
}

fn new_job(user: i64, project: i64, name: &str) -> NewJob {
    NewJob {
        name: name.into(),
        description: String::new(),
        task_type: TaskType::Detect,
        created_by: Some(user),
        config: json!({"task_type": "detect"}),
        total_epochs: 3,
        project_ids: vec![project],
        base_model_id: None,
    }
}

fn ev(ty: &str) -> NewEvent {
    NewEvent::new(ty, json!({"note": ty}))
}

async fn concurrent_claims_never_share_a_job(backend: Backend) {
    let t = TestDb::new(backend).await;
    let (user, project) = setup(&t.db).await;
    let n = 24;
    for i in 0..n {
        jobs::create(&t.db, &new_job(user, project, &format!("j{i}")), &ev("created")).await.unwrap();
    }
    // Four workers race for the jobs until none is left.
    let mut tasks = Vec::new();
    for w in 0..4 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let me = format!("worker-{w}");
            let mut mine = Vec::new();
            while let Some((job, event)) = jobs::claim(&db, &me, |_| ev("status_change")).await.unwrap() {
                assert_eq!(job.status, JobStatus::Preparing);
                assert_eq!(job.worker_id.as_deref(), Some(me.as_str()));
                assert_eq!((event.seq, job.last_event_seq, job.attempts), (2, 2, 1));
                mine.push(job.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!((all.len(), distinct.len()), (n, n), "every job claimed exactly once: {all:?}");
    assert!(jobs::claim(&t.db, "late", |_| ev("x")).await.unwrap().is_none());
}

async fn events_are_numbered_without_gaps(backend: Backend) {
    let t = TestDb::new(backend).await;
    let (user, project) = setup(&t.db).await;
    let (_, first) = jobs::create(&t.db, &new_job(user, project, "j"), &ev("created")).await.unwrap();
    assert_eq!(first.seq, 1);
    let (job, _) = jobs::claim(&t.db, "w", |_| ev("status_change")).await.unwrap().unwrap();
    // Concurrent writers (progress events) on one job.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            jobs::append(&db, job.id, "w", &NewEvent::new("batch_progress", json!({"batch": i}))).await.unwrap().unwrap().seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (3..23).collect::<Vec<i64>>());
    let stored = jobs::events_since(&t.db, job.id, 0, 1000).await.unwrap();
    assert_eq!(stored.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..23).collect::<Vec<i64>>());
    let m = stored[5].message();
    assert_eq!((m["seq"].as_i64(), m["job_id"].as_i64(), m["type"].as_str()), (Some(6), Some(job.id), Some("batch_progress")));
    assert!(m["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(jobs::events_since(&t.db, job.id, 20, 1000).await.unwrap().len(), 2);
    // A worker that does not hold the job writes nothing.
    assert!(jobs::append(&t.db, job.id, "intruder", &ev("x")).await.unwrap().is_none());
    assert_eq!(jobs::get(&t.db, job.id).await.unwrap().last_event_seq, 22);
}

async fn updates_are_guarded_by_status_and_worker(backend: Backend) {
    let t = TestDb::new(backend).await;
    let (user, project) = setup(&t.db).await;
    let (job, _) = jobs::create(&t.db, &new_job(user, project, "j"), &ev("created")).await.unwrap();
    jobs::claim(&t.db, "w1", |_| ev("status_change")).await.unwrap().unwrap();
    let to_training = JobUpdate { from: &[JobStatus::Preparing], worker_id: Some("w1"), status: Some(JobStatus::Training), ..Default::default() };
    let wrong_worker = JobUpdate { worker_id: Some("w2"), ..to_training.clone() };
    assert!(jobs::update(&t.db, job.id, &wrong_worker, Some(&ev("status_change"))).await.unwrap().is_none());
    let (j, e) = jobs::update(&t.db, job.id, &to_training, Some(&ev("status_change"))).await.unwrap().unwrap();
    assert_eq!((j.status, e.unwrap().seq, j.last_event_seq), (JobStatus::Training, 3, 3));
    // Not in `preparing` any more: the same transition does not apply twice.
    assert!(jobs::update(&t.db, job.id, &to_training, None).await.unwrap().is_none());

    assert_eq!(jobs::heartbeat(&t.db, job.id, "w1").await.unwrap(), Some(false));
    assert_eq!(jobs::heartbeat(&t.db, job.id, "w2").await.unwrap(), None);
    let cancel = JobUpdate { from: &[JobStatus::Preparing, JobStatus::Training], cancel_requested: Some(true), ..Default::default() };
    jobs::update(&t.db, job.id, &cancel, None).await.unwrap().unwrap();
    assert_eq!(jobs::heartbeat(&t.db, job.id, "w1").await.unwrap(), Some(true));

    // An epoch is recorded with the progress and its event, only by the holder.
    let row = NewEpochMetrics { epoch: 1, train_loss: Some(1.5), val_loss: None, metrics: json!({"map50": 0.25}), epoch_time_seconds: Some(2.0) };
    assert!(jobs::record_epoch(&t.db, job.id, "w2", &row, 33.3, &ev("epoch_complete")).await.unwrap().is_none());
    let e = jobs::record_epoch(&t.db, job.id, "w1", &row, 33.3, &ev("epoch_complete")).await.unwrap().unwrap();
    assert_eq!(e.seq, 4);
    let again = NewEpochMetrics { metrics: json!({"map50": 0.5}), ..row };
    jobs::record_epoch(&t.db, job.id, "w1", &again, 33.3, &ev("epoch_complete")).await.unwrap().unwrap();
    let rows = jobs::metrics(&t.db, job.id).await.unwrap();
    assert_eq!(rows.len(), 1, "a re-recorded epoch replaces its row");
    assert_eq!(rows[0].metrics.0, json!({"map50": 0.5}));
    let j = jobs::get(&t.db, job.id).await.unwrap();
    assert_eq!((j.current_epoch, j.progress_percent), (1, 33.3));

    // Stale detection sees the job once its heartbeat is older than the cutoff.
    let future = chrono::Utc::now() + chrono::Duration::seconds(5);
    let past = chrono::Utc::now() - chrono::Duration::seconds(60);
    assert_eq!(jobs::stale(&t.db, past).await.unwrap(), vec![]);
    assert_eq!(jobs::stale(&t.db, future).await.unwrap(), vec![(job.id, Some("w1".to_string()))]);
    let requeue = JobUpdate {
        from: &[JobStatus::Preparing, JobStatus::Training],
        worker_id: Some("w1"),
        status: Some(JobStatus::Pending),
        release: true,
        ..Default::default()
    };
    let (j, _) = jobs::update(&t.db, job.id, &requeue, Some(&ev("status_change"))).await.unwrap().unwrap();
    assert_eq!((j.status, j.worker_id, j.heartbeat_at), (JobStatus::Pending, None, None));
    let (j, _) = jobs::claim(&t.db, "w3", |_| ev("status_change")).await.unwrap().unwrap();
    assert_eq!((j.id, j.attempts), (job.id, 2));
}

async fn jobs_are_visible_to_project_members(backend: Backend) {
    let t = TestDb::new(backend).await;
    let (ann, project) = setup(&t.db).await;
    let bob = users::create(&t.db, "bob@x", "h").await.unwrap().id;
    let (job, _) = jobs::create(&t.db, &new_job(ann, project, "j"), &ev("created")).await.unwrap();
    assert!(jobs::visible_to(&t.db, job.id, ann, false).await.unwrap());
    assert!(!jobs::visible_to(&t.db, job.id, bob, false).await.unwrap());
    assert!(jobs::visible_to(&t.db, job.id, bob, true).await.unwrap());
    assert!(jobs::list_visible(&t.db, bob, false, None).await.unwrap().is_empty());
    projects::set_member(&t.db, project, bob, af_core::ProjectRole::Viewer).await.unwrap();
    assert_eq!(jobs::list_visible(&t.db, bob, false, None).await.unwrap().len(), 1);
    assert_eq!(jobs::list_visible(&t.db, bob, false, Some(JobStatus::Pending)).await.unwrap().len(), 1);
    assert!(jobs::list_visible(&t.db, bob, false, Some(JobStatus::Failed)).await.unwrap().is_empty());
    assert_eq!(jobs::project_ids(&t.db, job.id).await.unwrap(), vec![project]);
}

fn new_model(job: Option<i64>, user: i64, project: i64, name: &str) -> NewModel {
    NewModel {
        training_job_id: job,
        name: name.into(),
        description: String::new(),
        task_type: TaskType::Detect,
        model_path: format!("{name}.safetensors"),
        model_type: "yolov8n".into(),
        image_size: 64,
        classes: vec!["a".into(), "b".into()],
        performance_metrics: Some(json!({"map50": 0.5})),
        created_by: Some(user),
        config: None,
        dataset: None,
        plugins: None,
        base_model_id: None,
        base_weights: None,
        file_size: None,
        sha256: None,
        project_ids: vec![project],
    }
}

async fn completing_a_job_registers_its_model(backend: Backend) {
    let t = TestDb::new(backend).await;
    let (ann, project) = setup(&t.db).await;
    let taken = models::create(&t.db, &new_model(None, ann, project, "shapes")).await.unwrap();
    let (job, _) = jobs::create(&t.db, &new_job(ann, project, "shapes"), &ev("created")).await.unwrap();
    jobs::claim(&t.db, "w", |_| ev("status_change")).await.unwrap().unwrap();
    let final_metrics = json!({"map50": 0.9});
    let m = new_model(Some(job.id), ann, project, "shapes");
    // Not in `training` yet: nothing is written, not even the model.
    assert!(models::complete_job(&t.db, job.id, "w", &m, &final_metrics, |_| ev("training_complete")).await.unwrap().is_none());
    assert_eq!(models::list_visible(&t.db, ann, false, None, None).await.unwrap().len(), 1);
    let to_training = JobUpdate { from: &[JobStatus::Preparing], worker_id: Some("w"), status: Some(JobStatus::Training), ..Default::default() };
    jobs::update(&t.db, job.id, &to_training, None).await.unwrap().unwrap();
    let (j, model, e) = models::complete_job(&t.db, job.id, "w", &m, &final_metrics, |m| {
        NewEvent::new("training_complete", json!({"model_id": m.id}))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(model.name, "shapes (2)", "names stay unique");
    assert_eq!((j.status, j.model_id, j.worker_id.as_deref()), (JobStatus::Completed, Some(model.id), None));
    assert!(j.completed_at.is_some());
    assert_eq!(e.payload.0["model_id"].as_i64(), Some(model.id));
    assert_eq!(model.classes.0, vec!["a", "b"]);

    // The base of a pending job is in use and cannot be deleted.
    let child = NewJob { base_model_id: Some(model.id), ..new_job(ann, project, "child") };
    let (child, _) = jobs::create(&t.db, &child, &ev("created")).await.unwrap();
    let usage = models::delete_unused(&t.db, model.id).await.unwrap().unwrap_err();
    assert_eq!(usage.jobs, vec![child.id]);
    let cancel = JobUpdate { from: &[JobStatus::Pending], status: Some(JobStatus::Cancelled), completed: true, ..Default::default() };
    jobs::update(&t.db, child.id, &cancel, None).await.unwrap().unwrap();
    let deleted = models::delete_unused(&t.db, model.id).await.unwrap().unwrap();
    assert_eq!(deleted.id, model.id);
    assert_eq!(jobs::get(&t.db, job.id).await.unwrap().model_id, None);
    assert!(matches!(models::delete_unused(&t.db, model.id).await, Err(af_db::DbError::NotFound)));

    // Visibility follows the model's projects.
    let bob = users::create(&t.db, "bob@x", "h").await.unwrap().id;
    assert!(!models::visible_to(&t.db, taken.id, bob, false).await.unwrap());
    projects::set_member(&t.db, project, bob, af_core::ProjectRole::Viewer).await.unwrap();
    assert!(models::visible_to(&t.db, taken.id, bob, false).await.unwrap());
    let renamed = models::update(&t.db, taken.id, Some("renamed"), None, Some(false)).await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.is_active), ("renamed", false));
    assert!(models::list_visible(&t.db, bob, false, Some(true), None).await.unwrap().is_empty());
    assert_eq!(models::list_visible(&t.db, bob, false, Some(false), Some(TaskType::Detect)).await.unwrap().len(), 1);
    assert!(models::list_visible(&t.db, bob, false, None, Some(TaskType::Segment)).await.unwrap().is_empty());
}

backend_tests!(
    concurrent_claims_never_share_a_job,
    events_are_numbered_without_gaps,
    updates_are_guarded_by_status_and_worker,
    jobs_are_visible_to_project_members,
    completing_a_job_registers_its_model,
);
