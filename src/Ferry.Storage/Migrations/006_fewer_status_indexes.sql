-- Schema version 6: fewer index writes per run, and a project's work orders listed newest first without a sort.
-- Every run changes state two or three times (available, started, a final state), and each change rewrote an entry in
-- runs_status and in work_orders_status: ten index writes per run, for indexes only a few reads used. The queue and
-- in-flight runs have their partial indexes (runs_available, runs_active); the rare unsuccessful states keep one,
-- touched only when a work order ends badly. Its condition is written with OR, not IN: SQLite evaluated an IN list of
-- six for every row written to work_orders at about the cost of all the other index writes together.
-- A project's work orders were found through (project, created_at) and then sorted by seq, all of them, for every
-- page: (project, seq) gives them in page order.

DROP INDEX runs_status;
DROP INDEX work_orders_status;
DROP INDEX work_orders_project_created;
CREATE INDEX work_orders_project ON work_orders (project, seq);
CREATE INDEX work_orders_unsuccessful ON work_orders (status, seq)
    WHERE status = 'failed' OR status = 'crashed' OR status = 'cancelled' OR status = 'killed' OR status = 'exception' OR status = 'lost';
