-- The license authority's own database (the vendor's, not a customer's):
-- Product Authorization Keys with what they entitle, and the servers that
-- registered each.

CREATE TABLE paks (
    code TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    -- The entitlement, JSON: {"licenses": [{"kind", "count", "expires"?}], "product_major_versions": [..]}.
    entitlement TEXT NOT NULL,
    -- Raised at each change of the entitlement: the license file's id names it.
    revision BIGINT NOT NULL,
    -- The account the PAK is bound to, from its first registration.
    account_id TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE registrations (
    pak TEXT NOT NULL REFERENCES paks (code),
    server_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    registered_ms BIGINT NOT NULL,
    last_sync_ms BIGINT NOT NULL,
    PRIMARY KEY (pak, server_id)
);
