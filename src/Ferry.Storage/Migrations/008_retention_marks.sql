-- Schema version 8: where each retention wipe left off. A pass of erase_all or retain_with_errors walked every finished
-- work order of the project from the first, every few minutes, to find dataclips still to wipe (705 ms a pass over
-- 200,000 work orders with nothing new): the walk now starts after the mark, the last work order before which every
-- work order was final when the wipe went over it. A retry makes a finished work order run again, so it moves the
-- project's marks back below that work order (FerryStore.RetryAsync).

CREATE TABLE retention_marks (
    project text   NOT NULL,
    kind    text   NOT NULL,
    seq     {{bigint}} NOT NULL,
    PRIMARY KEY (project, kind)
);
