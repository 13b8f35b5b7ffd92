-- Images (content-addressed files in the data directory) and their shape annotations.
create table images (
    id integer primary key autoincrement,
    project_id integer not null references projects (id) on delete cascade,
    filename text not null,
    storage_key text not null,
    content_type text not null,
    width integer not null check (width > 0),
    height integer not null check (height > 0),
    size_bytes integer not null check (size_bytes >= 0),
    sha256 text not null,
    class_label text,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    unique (project_id, sha256)
);
create index images_project on images (project_id, id);
create index images_storage_key on images (storage_key);

create table annotations (
    id integer primary key autoincrement,
    image_id integer not null references images (id) on delete cascade,
    -- Denormalised from the image so a project's annotations list with one index range scan.
    project_id integer not null references projects (id) on delete cascade,
    type text not null check (type in ('circle', 'box', 'rectangle', 'polygon')),
    data text not null,
    class_label text not null,
    confidence real check (confidence is null or (confidence >= 0 and confidence <= 1)),
    source text not null default 'manual' check (source in ('manual', 'custom_model')),
    created_by integer references users (id) on delete set null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create index annotations_image on annotations (image_id, id);
create index annotations_project on annotations (project_id, id);
