-- Licenses from license files, and compliance: the audit's state, the
-- synchronisation with the license authority, and the e-mail outbox.

-- Every license file installed, the current one of each PAK with
-- replaced_ms NULL. Pool sizes are computed from the current files.
CREATE TABLE license_files (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- The file's own id (lic_…), its PAK, and the signed text (JSON).
    license_id TEXT NOT NULL,
    pak TEXT NOT NULL,
    body TEXT NOT NULL,
    -- The whole file as received, signature included.
    file TEXT NOT NULL,
    -- 'pak' (registered with the authority), 'sync' or 'file' (uploaded).
    installed_via TEXT NOT NULL,
    installed_ms BIGINT NOT NULL,
    installed_by_user_id TEXT,
    replaced_ms BIGINT
);

CREATE INDEX license_files_by_account ON license_files (account_id, replaced_ms);
-- At most one current file per PAK.
CREATE UNIQUE INDEX license_files_current ON license_files (account_id, pak) WHERE replaced_ms IS NULL;

-- One row per account.
CREATE TABLE compliance (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    -- When the trial began (the account's first setup).
    trial_started_ms BIGINT NOT NULL,
    -- The audit's ledger (JSON): what it applied up to when, the overage
    -- under way, the notices sent.
    ledger TEXT NOT NULL,
    -- The next audit (02:00 in the account's time zone); whichever server
    -- moves it on runs that audit.
    next_audit_ms BIGINT NOT NULL,
    last_audit_ms BIGINT,
    -- Since when the running product version is not covered by the
    -- current licenses (NULL: covered, or no licenses).
    uncovered_since_ms BIGINT,
    -- Synchronisation with the license authority, once a PAK is registered.
    sync_pak TEXT,
    sync_expected_since_ms BIGINT,
    last_sync_ms BIGINT,
    last_sync_attempt_ms BIGINT,
    last_sync_error TEXT,
    next_sync_ms BIGINT,
    -- The highest product major version a server of the account has run
    -- (licenses must cover it; an older server does not end the condition).
    product_major BIGINT
);

-- Notices to administrators, written in the transaction of the change that
-- causes them and delivered afterwards (at least once: a crash between
-- sending and marking sent repeats a message, with the same Message-ID).
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- What the message is about; unique per account, so a notice is queued once.
    notice_key TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT,
    sent_ms BIGINT,
    -- Given up after too many attempts.
    failed_ms BIGINT,
    UNIQUE (account_id, notice_key)
);

CREATE INDEX outbox_due ON outbox (next_attempt_ms) WHERE sent_ms IS NULL AND failed_ms IS NULL;
