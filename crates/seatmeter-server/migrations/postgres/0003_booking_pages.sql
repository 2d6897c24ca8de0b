-- Booking pages, their editors and date-specific availability; scheduling
-- privileges ("scheduler may schedule meetings for host").

CREATE TABLE booking_pages (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    owner_user_id TEXT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    theme TEXT NOT NULL,
    -- 1 when enabled; only while the owner holds a scheduled_meetings license.
    enabled BIGINT NOT NULL,
    -- Weekly hours as JSON: {"mon": [["09:00", "17:00"]], …}.
    weekly_hours TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE INDEX booking_pages_by_owner ON booking_pages (account_id, owner_user_id);

CREATE TABLE booking_page_editors (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    page_id TEXT NOT NULL REFERENCES booking_pages (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    notify_email BIGINT NOT NULL,
    notify_sms BIGINT NOT NULL,
    PRIMARY KEY (page_id, user_id)
);

CREATE TABLE booking_page_overrides (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    page_id TEXT NOT NULL REFERENCES booking_pages (id),
    -- YYYY-MM-DD, and that day's hours as JSON ([] for unavailable).
    day TEXT NOT NULL,
    hours TEXT NOT NULL,
    PRIMARY KEY (page_id, day)
);

CREATE TABLE scheduling_privileges (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    scheduler_user_id TEXT NOT NULL REFERENCES users (id),
    host_user_id TEXT NOT NULL REFERENCES users (id),
    granted_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, scheduler_user_id, host_user_id)
);
