-- Accounts (tenants), their users and API tokens, and the activity stream.
-- Times are integer UTC milliseconds; ids are text. The PostgreSQL schema
-- (migrations/postgres) has the same tables and columns.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- The anchor of the account's 30-day usage windows: when setup finished.
    anchor_ms BIGINT NOT NULL,
    time_zone TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL,
    -- E-mail addresses are compared case-insensitively.
    email_key TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    -- Comma-separated admin areas; empty for members and unrestricted administrators.
    areas TEXT NOT NULL,
    disabled_ms BIGINT,
    created_ms BIGINT NOT NULL,
    UNIQUE (account_id, email_key)
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    -- SHA-256 of the token, hex; the token itself is shown once and never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    last_used_ms BIGINT,
    revoked_ms BIGINT
);

CREATE TABLE activities (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    at_ms BIGINT NOT NULL,
    actor_user_id TEXT,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    details TEXT NOT NULL
);

CREATE INDEX activities_by_account_time ON activities (account_id, at_ms, id);
