-- latchkey schema, version 1 (SQLite).
--
-- Conventions: ids are UUID v4 text; timestamps are INTEGER unix seconds; felts are
-- lowercase minimal 0x hex text; JSON documents are text; booleans are 0/1 integers.
-- `seq` is an insertion counter (the rowid) used to order rows created in the same second.
-- Gas amounts are integers in units of 10^9 FRI ("gfri").
-- Unique constraints carry the same names as in the PostgreSQL schema.

CREATE TABLE organizations (
    seq               INTEGER PRIMARY KEY,
    id                TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    gas_budget_gfri   INTEGER NOT NULL DEFAULT 0 CHECK (gas_budget_gfri >= 0),
    gas_spent_gfri    INTEGER NOT NULL DEFAULT 0 CHECK (gas_spent_gfri >= 0),
    gas_reserved_gfri INTEGER NOT NULL DEFAULT 0 CHECK (gas_reserved_gfri >= 0),
    created_at        INTEGER NOT NULL,
    CONSTRAINT organizations_id_key UNIQUE (id)
);
CREATE INDEX organizations_created ON organizations (created_at, seq);

CREATE TABLE api_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    org_id     TEXT    NOT NULL REFERENCES organizations (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('public', 'secret')),
    key_hash   TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE wallets (
    seq                          INTEGER PRIMARY KEY,
    id                           TEXT    NOT NULL,
    org_id                       TEXT    NOT NULL REFERENCES organizations (id),
    external_user_id             TEXT,
    address                      TEXT    NOT NULL,
    owner_public_key             TEXT    NOT NULL,
    encrypted_private_key        TEXT    NOT NULL,
    encrypted_private_key_backup TEXT,
    wallet_type                  TEXT    NOT NULL,
    chain                        TEXT    NOT NULL,
    class_hash                   TEXT    NOT NULL,
    auth_method                  TEXT,
    credential_id                TEXT,
    prf_supported                INTEGER CHECK (prf_supported IN (0, 1)),
    device_type                  TEXT,
    deployed                     INTEGER NOT NULL DEFAULT 0 CHECK (deployed IN (0, 1)),
    deploy_tx_hash               TEXT,
    created_at                   INTEGER NOT NULL,
    updated_at                   INTEGER NOT NULL,
    CONSTRAINT wallets_id_key UNIQUE (id),
    CONSTRAINT wallets_org_address_key UNIQUE (org_id, address),
    CONSTRAINT wallets_org_external_user_key UNIQUE (org_id, external_user_id)
);
CREATE INDEX wallets_org_created ON wallets (org_id, created_at, seq);
CREATE INDEX wallets_address ON wallets (address);

CREATE TABLE sessions (
    seq                     INTEGER PRIMARY KEY,
    id                      TEXT    NOT NULL,
    wallet_id               TEXT    NOT NULL REFERENCES wallets (id),
    session_public_key      TEXT    NOT NULL,
    valid_after             INTEGER NOT NULL,
    valid_until             INTEGER NOT NULL,
    max_calls               INTEGER NOT NULL,
    allowed_methods_json    TEXT    NOT NULL,
    allow_all               INTEGER NOT NULL CHECK (allow_all IN (0, 1)),
    registration_request_id TEXT,
    state                   TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'revoked', 'failed')),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    revoked_at              INTEGER,
    CONSTRAINT sessions_id_key UNIQUE (id),
    CONSTRAINT sessions_wallet_key_key UNIQUE (wallet_id, session_public_key)
);

CREATE TABLE requests (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT    NOT NULL,
    org_id             TEXT    NOT NULL REFERENCES organizations (id),
    wallet_id          TEXT    REFERENCES wallets (id),
    account            TEXT    NOT NULL,
    oe_nonce           TEXT    NOT NULL,
    typed_data_json    TEXT    NOT NULL,
    calls_json         TEXT    NOT NULL,
    execute_before     INTEGER NOT NULL,
    purpose            TEXT    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('prepared', 'recorded', 'submitting',
                           'submitted', 'succeeded', 'reverted', 'rejected', 'expired')),
    kind               TEXT,
    session_public_key TEXT,
    signature_json     TEXT,
    tx_hash            TEXT,
    relayer_address    TEXT,
    relayer_nonce      TEXT,
    signed_tx_json     TEXT,
    fee_fri            TEXT,
    error_code         TEXT,
    error_message      TEXT,
    idempotency_key    TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    submitted_at       INTEGER,
    finalized_at       INTEGER,
    CONSTRAINT requests_id_key UNIQUE (id),
    CONSTRAINT requests_account_oe_nonce_key UNIQUE (account, oe_nonce)
);
CREATE INDEX requests_status_created ON requests (status, created_at, seq);
CREATE INDEX requests_org_created ON requests (org_id, created_at, seq);
CREATE INDEX requests_wallet_created ON requests (wallet_id, created_at, seq);
CREATE INDEX requests_tx_hash ON requests (tx_hash);

CREATE TABLE idempotency_keys (
    org_id          TEXT    NOT NULL REFERENCES organizations (id),
    idempotency_key TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('in_flight', 'completed')),
    response_status INTEGER,
    response_body   TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (org_id, idempotency_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

CREATE TABLE relayers (
    address          TEXT    NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    nonce            TEXT,
    updated_at       INTEGER NOT NULL,
    CONSTRAINT relayers_pkey PRIMARY KEY (address)
);

CREATE TABLE user_sessions (
    org_id         TEXT    NOT NULL REFERENCES organizations (id),
    subject        TEXT    NOT NULL,
    wallet_address TEXT,
    session_blob   TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    CONSTRAINT user_sessions_pkey PRIMARY KEY (org_id, subject)
);
