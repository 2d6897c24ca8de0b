-- The administration console: passwords, sessions, and the security
-- settings a security administrator edits.

-- Argon2id, as a PHC string; NULL until the user sets one.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN password_changed_ms BIGINT;

-- Password policy: minimum length (no composition rules; a list of common
-- passwords is refused), optional expiry in days (NULL: never).
ALTER TABLE accounts ADD COLUMN password_min_length BIGINT NOT NULL DEFAULT 12;
ALTER TABLE accounts ADD COLUMN password_max_age_days BIGINT;
-- Session policy: ended after this long without a request, and after this
-- long in any case.
ALTER TABLE accounts ADD COLUMN session_idle_minutes BIGINT NOT NULL DEFAULT 30;
ALTER TABLE accounts ADD COLUMN session_max_hours BIGINT NOT NULL DEFAULT 12;
-- Lockout: after this many failed sign-ins in a row, a user is locked for
-- this long (growing delays come before it).
ALTER TABLE accounts ADD COLUMN lockout_threshold BIGINT NOT NULL DEFAULT 10;
ALTER TABLE accounts ADD COLUMN lockout_minutes BIGINT NOT NULL DEFAULT 15;

-- Console sessions: the cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    -- Sent back with every form: a request from another site cannot know it.
    csrf_token TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    ended_ms BIGINT
);

CREATE INDEX sessions_by_user ON sessions (account_id, user_id);

-- One-time links to set a password (the first administrator's, printed by
-- `seatmeter account create`); only the token's SHA-256 is stored.
CREATE TABLE password_setups (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);

-- Failed sign-ins, per user: what lockout and its delays are counted from.
CREATE TABLE sign_in_failures (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    at_ms BIGINT NOT NULL
);

CREATE INDEX sign_in_failures_by_user ON sign_in_failures (account_id, user_id, at_ms);
