-- Schema version 7: one index write fewer per dataclip. Every work order stores one dataclip at intake and every run
-- about two more, and each went into dataclips_project_created as well, read only by the retention job, which now
-- finds a project's dataclips through its work orders (work_orders_project, then dataclips_work_order): the dataclips
-- it may wipe are those of finished work orders anyway.

DROP INDEX dataclips_project_created;
