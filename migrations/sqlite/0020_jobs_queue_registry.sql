-- Job queue, event sequencing, model registry and pre-labelling (issue 6).
--
-- training_jobs: `last_event_seq` hands out each job's event sequence numbers (bumped in the
-- same transaction as the event insert, so numbers are gap-free and ordered); `attempts`
-- counts claims (a job whose worker died is resumed up to a limit); `base_model_id` is the
-- registered model a transfer-learning job starts from; `plugins` the plugins it used.
alter table training_jobs add column last_event_seq integer not null default 0;
alter table training_jobs add column attempts integer not null default 0;
alter table training_jobs add column base_model_id integer references trained_models (id) on delete set null;
alter table training_jobs add column plugins text;
alter table training_jobs add column device text;
create index training_jobs_worker on training_jobs (worker_id);

-- Which projects a job trains on (access checks, "jobs of my projects").
create table job_projects (
    job_id integer not null references training_jobs (id) on delete cascade,
    project_id integer not null references projects (id) on delete cascade,
    primary key (job_id, project_id)
);
create index job_projects_project on job_projects (project_id);

alter table training_datasets add column class_names text;
alter table training_datasets add column report text;
alter table training_datasets add column plugins text;

-- The registry: what a model was trained on and with, and where it came from.
alter table trained_models add column config text;
alter table trained_models add column dataset text;
alter table trained_models add column plugins text;
alter table trained_models add column base_model_id integer;
alter table trained_models add column base_weights text;
alter table trained_models add column file_size integer;
alter table trained_models add column sha256 text;

create table model_projects (
    model_id integer not null references trained_models (id) on delete cascade,
    project_id integer not null references projects (id) on delete cascade,
    primary key (model_id, project_id)
);
create index model_projects_project on model_projects (project_id);

-- Background pre-labelling of a whole project with a model.
create table prelabel_runs (
    id integer primary key autoincrement,
    project_id integer not null references projects (id) on delete cascade,
    model_id integer references trained_models (id) on delete set null,
    created_by integer references users (id) on delete set null,
    status text not null default 'pending'
        check (status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
    confidence real not null,
    iou real not null,
    only_unlabeled boolean not null default 1,
    total_images integer not null default 0,
    processed_images integer not null default 0,
    skipped_images integer not null default 0,
    labeled_images integer not null default 0,
    annotations_created integer not null default 0,
    error_message text,
    heartbeat_at text,
    started_at text,
    completed_at text,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index prelabel_runs_project on prelabel_runs (project_id, id);
create index prelabel_runs_model on prelabel_runs (model_id, status);
