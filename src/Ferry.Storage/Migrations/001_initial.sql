-- Ferry store, schema version 1. Shared by SQLite and PostgreSQL: double-brace tokens are column types the dialect fills in
-- (see docs/storage.md). JSON is kept as text in both databases: state key order is visible to users (the state
-- behaves like a JavaScript object) and jsonb would reorder keys.

CREATE TABLE projects (
    name            text PRIMARY KEY,
    current_version integer NOT NULL DEFAULT 0,
    created_at      {{time}} NOT NULL,
    updated_at      {{time}} NOT NULL
);

CREATE TABLE versions (
    project    text NOT NULL REFERENCES projects (name),
    version    integer NOT NULL,
    bundle     text NOT NULL,
    spec_hash  text NOT NULL,
    author     text NULL,
    created_at {{time}} NOT NULL,
    PRIMARY KEY (project, version)
);

CREATE TABLE dataclips (
    id         {{uuid}} PRIMARY KEY,
    project    text NOT NULL,
    body       text NULL,
    size_bytes {{bigint}} NOT NULL,
    created_at {{time}} NOT NULL,
    wiped_at   {{time}} NULL
);

CREATE TABLE work_orders (
    seq                  {{seq_pk}},
    id                   {{uuid}} NOT NULL UNIQUE,
    project              text NOT NULL,
    workflow             text NOT NULL,
    trigger_name         text NOT NULL,
    version              integer NOT NULL,
    status               text NOT NULL,
    input_dataclip_id    {{uuid}} NOT NULL,
    request_meta         text NULL,
    retry_attempts       integer NOT NULL,
    retry_backoff_ms     {{bigint}} NOT NULL,
    retry_max_backoff_ms {{bigint}} NOT NULL,
    last_run_id          {{uuid}} NOT NULL,
    created_at           {{time}} NOT NULL,
    updated_at           {{time}} NOT NULL
);
CREATE INDEX work_orders_flow ON work_orders (project, workflow, seq);
CREATE INDEX work_orders_status ON work_orders (status, seq);

CREATE TABLE runs (
    seq                {{seq_pk}},
    id                 {{uuid}} NOT NULL UNIQUE,
    work_order_id      {{uuid}} NOT NULL,
    project            text NOT NULL,
    workflow           text NOT NULL,
    version            integer NOT NULL,
    attempt            integer NOT NULL,
    status             text NOT NULL,
    start_step         text NULL,
    input_dataclip_id  {{uuid}} NOT NULL,
    output_dataclip_id {{uuid}} NULL,
    available_at       {{time}} NOT NULL,
    claimed_at         {{time}} NULL,
    started_at         {{time}} NULL,
    finished_at        {{time}} NULL,
    worker_id          text NULL,
    lease_until        {{time}} NULL,
    cancel_requested   integer NOT NULL DEFAULT 0,
    error              text NULL,
    created_at         {{time}} NOT NULL
);
-- The queue: only available runs, in arrival order (partial indexes work in both databases).
CREATE INDEX runs_available ON runs (seq) WHERE status = 'available';
CREATE INDEX runs_active ON runs (project, workflow) WHERE status IN ('claimed', 'started');
CREATE INDEX runs_work_order ON runs (work_order_id, seq);
CREATE INDEX runs_status ON runs (status);

CREATE TABLE step_runs (
    id                 {{uuid}} PRIMARY KEY,
    run_id             {{uuid}} NOT NULL,
    ordinal            integer NOT NULL,
    step_id            text NOT NULL,
    status             text NOT NULL,
    started_at         {{time}} NOT NULL,
    duration_ms        {{bigint}} NOT NULL,
    allocated_bytes    {{bigint}} NOT NULL,
    error              text NULL,
    input_dataclip_id  {{uuid}} NULL,
    output_dataclip_id {{uuid}} NULL
);
CREATE INDEX step_runs_run ON step_runs (run_id, ordinal);

CREATE TABLE log_lines (
    seq     {{seq_pk}},
    run_id  {{uuid}} NOT NULL,
    time    {{time}} NOT NULL,
    level   text NOT NULL,
    step_id text NULL,
    message text NOT NULL
);
CREATE INDEX log_lines_run ON log_lines (run_id, seq);

CREATE TABLE cursors (
    project    text NOT NULL,
    workflow   text NOT NULL,
    value      text NOT NULL,
    updated_at {{time}} NOT NULL,
    PRIMARY KEY (project, workflow)
);
