-- (SQLite only: events and attendees are stored in their primary key's
-- B-tree, WITHOUT ROWID, so that each row written goes into one tree, not
-- two.)
--
-- Meetings: scheduled (by their host or on the host's behalf), what
-- happened in them (an order-independent summary of their lifecycle events),
-- and the changes to live host-license usage, numbered per account.

-- How many meetings a host may run at once (users may override it), when a
-- meeting left running is ended automatically, which meetings count, and
-- why the account is disabled (set by the compliance audit; NULL: enabled).
ALTER TABLE accounts ADD COLUMN concurrency_limit BIGINT NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN max_meeting_minutes BIGINT NOT NULL DEFAULT 1440;
ALTER TABLE accounts ADD COLUMN count_teleconference_only BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN disabled_reason TEXT;
-- The number of the latest row of usage_changes of the account. Taking the
-- next numbers updates this row, which serialises writers per account, so
-- numbers become visible in order and without gaps.
ALTER TABLE accounts ADD COLUMN usage_seq BIGINT NOT NULL DEFAULT 0;

ALTER TABLE users ADD COLUMN concurrency_limit BIGINT;

CREATE TABLE meetings (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- The platform's own id for the meeting (or a log's meeting_id), unique in the account.
    external_id TEXT,
    host_user_id TEXT NOT NULL REFERENCES users (id),
    scheduled_by_user_id TEXT REFERENCES users (id),
    title TEXT NOT NULL,
    scheduled_start_ms BIGINT,
    scheduled_end_ms BIGINT,
    -- The earliest start (or attendee join) and the earliest end reported.
    started_ms BIGINT,
    ended_ms BIGINT,
    web_attendees BIGINT NOT NULL,
    phone_attendees BIGINT NOT NULL,
    -- The interval now counted in live usage (NULL: none): it changes only
    -- together with a row of usage_changes.
    usage_start_ms BIGINT,
    usage_end_ms BIGINT,
    -- When the meeting was ended automatically after the maximum duration.
    auto_ended_ms BIGINT,
    created_ms BIGINT NOT NULL,
    UNIQUE (account_id, external_id)
);

CREATE INDEX meetings_by_host ON meetings (account_id, host_user_id, ended_ms, started_ms);
-- Meetings are looked up by account and id, many ids at a time (a batch of
-- events); this index serves both terms, where the one on id alone would
-- leave the planner to scan the account's meetings.
CREATE UNIQUE INDEX meetings_by_account_and_id ON meetings (account_id, id);
CREATE INDEX meetings_by_start ON meetings (account_id, started_ms);
-- Meetings started and not over: what the sweep for meetings past their
-- maximum duration reads (every minute, and before usage is answered).
CREATE INDEX meetings_open ON meetings (account_id, started_ms)
    WHERE ended_ms IS NULL AND auto_ended_ms IS NULL;

CREATE TABLE meeting_attendees (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    portion TEXT NOT NULL,
    attendee TEXT NOT NULL,
    PRIMARY KEY (meeting_id, portion, attendee)
) WITHOUT ROWID;

CREATE TABLE meeting_events (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- Chosen by the sender; the same key again is the same event.
    idempotency_key TEXT NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    kind TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    -- SHA-256 of the event's canonical form: a key reused for another event is refused.
    body_hash TEXT NOT NULL,
    details TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
) WITHOUT ROWID;

CREATE TABLE usage_changes (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    seq BIGINT NOT NULL,
    host_user_id TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    -- +1: the interval was added to the host's usage; -1: removed.
    sign BIGINT NOT NULL,
    PRIMARY KEY (account_id, seq)
);
