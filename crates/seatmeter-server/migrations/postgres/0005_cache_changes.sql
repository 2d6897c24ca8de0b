-- What each server keeps in memory for a moment (token owners, admission
-- inputs) is forgotten when it changes. A server forgets at once what its
-- own writes change; this table, written in the same transactions, tells
-- the other servers on the same database, which read it every 100 ms: a
-- row per user or host ('*' for everything), with the number of its changes
-- and the time of the last one.

CREATE TABLE cache_changes (
    grp TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE INDEX cache_changes_by_time ON cache_changes (at_ms);
