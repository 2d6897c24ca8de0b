-- What each server keeps in memory for a moment (token owners, admission
-- inputs) is forgotten when it changes. A server forgets at once what its
-- own writes change; these rows, written in the same transactions, tell the
-- other servers on the same database, which read them every 100 ms. Old
-- rows are deleted after an hour.

CREATE TABLE cache_changes (
    id TEXT PRIMARY KEY,
    -- The user or host whose kept answers changed, or '*' for all.
    grp TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE INDEX cache_changes_by_time ON cache_changes (at_ms);
