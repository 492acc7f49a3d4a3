"""The store's SQLite writes for one work order's life, without .NET: intake (input dataclip, work order, run in
64-row transactions), the claim (run started, work order status) and the completion of bench/e2e.sh's two-step run (run
and work order final, two output dataclips, two step runs, one log line), in transactions of 64 like the store's batch
paths.
Builds the schema from src/Ferry.Storage/Migrations up to a version. Run under callgrind by write-cost.sh, which counts
the instructions SQLite spends per work order: deterministic, unlike timings on a shared machine.
Usage: python3 write_path.py SCHEMA_VERSION WORK_ORDERS DB_PATH"""
import glob, os, sqlite3, sys, uuid

version, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
migrations = os.path.join(os.path.dirname(__file__), "..", "..", "src", "Ferry.Storage", "Migrations")
types = {"{{uuid}}": "text", "{{time}}": "integer", "{{bigint}}": "integer", "{{seq_pk}}": "integer PRIMARY KEY"}  # SqliteDialect.ColumnTypes
if os.path.exists(path): os.remove(path)
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
for file in sorted(glob.glob(os.path.join(migrations, "*.sql"))):
    if int(os.path.basename(file)[:3]) > version: continue
    sql = open(file).read()
    for token, type_ in types.items(): sql = sql.replace(token, type_)
    db.executescript(sql)

body = '{"data":{"caseId":"C-1001","firstName":"Amina","lastName":"Okello","sex":"F","dob":"03/14/1990","district":"Gulu"},"request":{"method":"POST","path":"/i/intake/cases/hook"}}'
now = 1_700_000_000_000
orders = []
for start in range(0, count, 64):
    db.execute("BEGIN IMMEDIATE")
    for _ in range(64):
        now += 1
        order, run, clip = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        db.execute("INSERT INTO dataclips (id, project, work_order_id, body, size_bytes, created_at) VALUES (?,?,?,?,?,?)", (clip, "intake", order, body, len(body), now))
        db.execute("INSERT INTO work_orders (id, project, workflow, trigger_name, version, status, input_dataclip_id, request_meta, retry_attempts, "
                   "retry_backoff_ms, retry_max_backoff_ms, last_run_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (order, "intake", "cases", "hook", 1, "available", clip, None, 1, 0, 0, run, now, now))
        db.execute("INSERT INTO runs (id, work_order_id, project, workflow, version, attempt, status, start_step, input_dataclip_id, available_at, created_at) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?)", (run, order, "intake", "cases", 1, 1, "available", None, clip, now, now))
        orders.append((order, run))
    db.execute("COMMIT")
# The claim (ClaimManyAsync with start: true) and the completion (CompleteManyAsync): the run's and the work order's
# status changes, and what the run stored.
claim = "UPDATE runs SET status = 'started', worker_id = 'w', claimed_at = ?, started_at = ?, lease_until = ? WHERE id = ?"
complete = "UPDATE runs SET status = 'success', finished_at = ?, error = NULL, output_dataclip_id = NULL, lease_until = NULL WHERE id = ?"
work_order = "UPDATE work_orders SET status = ?, updated_at = ? WHERE id = ? AND last_run_id = ?"
for start in range(0, count, 64):
    batch = orders[start:start + 64]
    db.execute("BEGIN IMMEDIATE")
    for order, run in batch:
        db.execute(claim, (now, now, now + 60_000, run))
        db.execute(work_order, ("started", now, order, run))
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    for order, run in batch:
        clips = [str(uuid.uuid4()), str(uuid.uuid4())]
        for clip in clips:
            db.execute("INSERT INTO dataclips (id, project, work_order_id, body, size_bytes, created_at) VALUES (?,?,?,?,?,?)", (clip, "intake", order, body, len(body), now))
        for ordinal, (step, clip_in, clip_out) in enumerate([("normalise", None, clips[0]), ("flag", clips[0], clips[1])]):
            db.execute("INSERT INTO step_runs (id, run_id, ordinal, step_id, status, started_at, duration_ms, allocated_bytes, error, input_dataclip_id, output_dataclip_id) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?)", (str(uuid.uuid4()), run, ordinal, step, "success", now, 1, 1000, None, clip_in, clip_out))
        db.execute("INSERT INTO log_lines (run_id, time, level, step_id, message) VALUES (?,?,?,?,?)", (run, now, "info", "normalise", "done"))
        db.execute(complete, (now, run))
        db.execute(work_order, ("success", now, order, run))
    db.execute("COMMIT")
