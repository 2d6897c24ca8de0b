-- License pools per account and kind, and who holds an assigned license.
-- `assigned` is kept in the pool row so that a single conditional update
-- (`assigned < installed`) decides, atomically, whether a license is free.

CREATE TABLE license_pools (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    installed BIGINT NOT NULL,
    assigned BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind)
);

CREATE TABLE license_assignments (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    assigned_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, user_id)
);
