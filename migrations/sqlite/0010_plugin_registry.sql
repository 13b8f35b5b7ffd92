-- The plugin registry (issue 3): every installed WebAssembly plugin component and the default
-- plugin of each kind per task type.
--
-- plugins: the component bytes live in the row (`wasm`), keyed by content hash, so every
-- process of a scale-out deployment loads the same bytes; `metadata` is what the plugin
-- reported about itself when it was validated (task types, annotation kinds, options).
-- Built-ins are keyed by `package` (their cargo package): a new release of the app updates
-- its built-in rows in place, so defaults that point at a built-in follow the upgrade.
create table plugins (
    id integer primary key autoincrement,
    kind text not null check (kind in ('converter', 'splitter', 'formatter')),
    name text not null,
    version text not null,
    description text not null default '',
    sha256 text not null unique,
    size_bytes integer not null check (size_bytes > 0),
    metadata text not null,
    wasm blob not null,
    builtin boolean not null default 0,
    package text unique,
    enabled boolean not null default 1,
    uploaded_by integer references users (id) on delete set null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    unique (kind, name, version)
);

-- The plugin a job of `task_type` uses for `kind` when its config names none. A plugin that
-- is some default cannot be deleted or disabled (the API refuses; `restrict` backs it up).
create table plugin_defaults (
    kind text not null check (kind in ('converter', 'splitter', 'formatter')),
    task_type text not null check (task_type in ('classify', 'detect', 'segment')),
    plugin_id integer not null references plugins (id) on delete restrict,
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    primary key (kind, task_type)
);
create index plugin_defaults_plugin on plugin_defaults (plugin_id);
