-- Credentials are bound to the rights their user had when they were made.
-- A user's rights epoch grows whenever their rights grow (a new role, more
-- areas) or they are enabled again; a session, an API token or a one-time
-- password link made under an older epoch no longer works.
ALTER TABLE users ADD COLUMN rights_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN rights_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN rights_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE password_setups ADD COLUMN rights_epoch INTEGER NOT NULL DEFAULT 0;

-- Failed sign-ins, by subject: a user (`user:<id>`), an address no user
-- has (`address:<sha256 of the address>`) or a source address
-- (`source:<ip>`). One row per subject, locked while a sign-in counts and
-- decides, so that parallel attempts cannot all pass the throttle. The
-- failures are kept as the comma-separated times (ms) that can still
-- change a decision.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_throttles (
    subject TEXT PRIMARY KEY,
    failures TEXT NOT NULL,
    last_ms INTEGER NOT NULL
);
CREATE INDEX sign_in_throttles_by_age ON sign_in_throttles (last_ms);

-- Idempotency keys: a mutating request sent with `Idempotency-Key` is
-- answered once; a retry with the same key (in the same account, within a
-- day) gets the first answer back instead of acting again.
CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    idempotency_key TEXT NOT NULL,
    -- SHA-256 of the method, path, query and body: another request under
    -- the same key is refused.
    request_hash TEXT NOT NULL,
    -- NULL while the first request is being answered.
    status INTEGER,
    content_type TEXT,
    body TEXT,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_ms);
