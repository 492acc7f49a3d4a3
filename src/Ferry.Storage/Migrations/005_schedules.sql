-- Schema version 5: the last tick each cron trigger ran for. The scheduler advances a row and enqueues the tick's work
-- order in one transaction, and only forward (last_tick < the new tick), so a crash or a second leader never runs a
-- tick twice.

CREATE TABLE schedule_ticks (
    project      text NOT NULL,
    workflow     text NOT NULL,
    trigger_name text NOT NULL,
    last_tick    {{time}} NOT NULL,
    updated_at   {{time}} NOT NULL,
    PRIMARY KEY (project, workflow, trigger_name)
);
