-- Schema version 2: dataclips know their work order (so retention can wipe by work order status), and named leases
-- (one scheduler leader among many `ferry serve` processes).

ALTER TABLE dataclips ADD COLUMN work_order_id {{uuid}} NULL;
CREATE INDEX dataclips_work_order ON dataclips (work_order_id);
CREATE INDEX dataclips_project_created ON dataclips (project, created_at);
CREATE INDEX work_orders_project_created ON work_orders (project, created_at);

CREATE TABLE leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    lease_until {{time}} NOT NULL
);
