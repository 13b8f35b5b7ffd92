-- Users, projects and per-project membership (the access-control core).
create table users (
    id integer primary key autoincrement,
    email text not null unique,
    password_hash text not null,
    role text not null default 'user' check (role in ('admin', 'user')),
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

create table projects (
    id integer primary key autoincrement,
    name text not null,
    description text not null default '',
    created_by integer references users (id) on delete set null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

create table project_members (
    project_id integer not null references projects (id) on delete cascade,
    user_id integer not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'editor', 'viewer')),
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    primary key (project_id, user_id)
);
create index project_members_user on project_members (user_id);
