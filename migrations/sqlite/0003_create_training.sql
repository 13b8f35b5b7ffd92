-- Training: jobs, the datasets they prepared, per-epoch metrics, the models they produced, and
-- each job's ordered, replayable event log (DESIGN.md "Original schema"; extend, don't break).
create table trained_models (
    id integer primary key autoincrement,
    -- No foreign key: training_jobs.model_id references this table (a cycle); the job owns the link.
    training_job_id integer,
    name text not null unique,
    description text not null default '',
    task_type text not null check (task_type in ('classify', 'detect', 'segment')),
    model_path text not null,
    model_type text not null,
    image_size integer not null,
    classes text not null,
    num_classes integer not null check (num_classes > 0),
    performance_metrics text,
    created_by integer references users (id) on delete set null,
    is_active boolean not null default 1,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index trained_models_job on trained_models (training_job_id);

create table training_jobs (
    id integer primary key autoincrement,
    name text not null,
    description text not null default '',
    task_type text not null check (task_type in ('classify', 'detect', 'segment')),
    created_by integer references users (id) on delete set null,
    status text not null default 'pending'
        check (status in ('pending', 'preparing', 'training', 'completed', 'failed', 'cancelled')),
    config text not null,
    final_metrics text,
    model_id integer references trained_models (id) on delete set null,
    error_message text,
    current_epoch integer not null default 0,
    total_epochs integer not null default 0,
    progress_percent real not null default 0,
    -- Queue bookkeeping for workers (claim, heartbeat, cancellation between batches).
    worker_id text,
    heartbeat_at text,
    cancel_requested boolean not null default 0,
    started_at text,
    completed_at text,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index training_jobs_status on training_jobs (status, id);
create index training_jobs_created_by on training_jobs (created_by, id);

create table training_metrics (
    id integer primary key autoincrement,
    job_id integer not null references training_jobs (id) on delete cascade,
    epoch integer not null check (epoch >= 0),
    train_loss real,
    val_loss real,
    metrics text not null,
    epoch_time_seconds real,
    timestamp text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    unique (job_id, epoch)
);

create table training_datasets (
    id integer primary key autoincrement,
    job_id integer not null references training_jobs (id) on delete cascade,
    project_ids text not null,
    total_images integer not null default 0,
    train_images integer not null default 0,
    val_images integer not null default 0,
    class_mapping text not null,
    annotation_types text not null,
    dataset_path text not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index training_datasets_job on training_datasets (job_id);

create table job_events (
    id integer primary key autoincrement,
    job_id integer not null references training_jobs (id) on delete cascade,
    seq integer not null check (seq >= 1),
    type text not null,
    payload text not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    unique (job_id, seq)
);
