-- latchkey schema, version 4 (SQLite): every wallet, request and relayer account names its
-- chain (a CAIP-2 id such as `starknet:SN_SEPOLIA` or `eip155:31337`), uniqueness holds per
-- chain (one user has one account per chain), and a request's fee carries its unit. Existing
-- rows are kept: they were written for the one Starknet chain the server ran on, and keep
-- the legacy chain name until the server adopts them (`Store::adopt_legacy_chain`).
--
-- Runs outside sqlx's transaction: rebuilding a table that others reference needs foreign
-- keys off, which SQLite allows only between transactions. The rebuild is one transaction.

PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE wallets_v4 (
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
    revert_streak                INTEGER NOT NULL DEFAULT 0,
    cooldown_until               INTEGER,
    CONSTRAINT wallets_id_key UNIQUE (id),
    CONSTRAINT wallets_org_chain_address_key UNIQUE (org_id, chain, address),
    CONSTRAINT wallets_org_chain_external_user_key UNIQUE (org_id, chain, external_user_id)
);
INSERT INTO wallets_v4 (seq, id, org_id, external_user_id, address, owner_public_key,
    encrypted_private_key, encrypted_private_key_backup, wallet_type, chain, class_hash,
    auth_method, credential_id, prf_supported, device_type, deployed, deploy_tx_hash,
    created_at, updated_at, revert_streak, cooldown_until)
    SELECT seq, id, org_id, external_user_id, address, owner_public_key,
        encrypted_private_key, encrypted_private_key_backup, wallet_type, chain, class_hash,
        auth_method, credential_id, prf_supported, device_type, deployed, deploy_tx_hash,
        created_at, updated_at, revert_streak, cooldown_until
    FROM wallets;
DROP TABLE wallets;
ALTER TABLE wallets_v4 RENAME TO wallets;
CREATE INDEX wallets_org_created ON wallets (org_id, created_at, seq);
CREATE INDEX wallets_address ON wallets (address);

CREATE TABLE requests_v4 (
    seq                     INTEGER PRIMARY KEY,
    id                      TEXT    NOT NULL,
    org_id                  TEXT    NOT NULL REFERENCES organizations (id),
    wallet_id               TEXT    REFERENCES wallets (id),
    chain                   TEXT    NOT NULL,
    account                 TEXT    NOT NULL,
    oe_nonce                TEXT    NOT NULL,
    typed_data_json         TEXT    NOT NULL,
    calls_json              TEXT    NOT NULL,
    execute_before          INTEGER NOT NULL,
    purpose                 TEXT    NOT NULL,
    status                  TEXT    NOT NULL CHECK (status IN ('prepared', 'recorded',
                                'submitting', 'submitted', 'succeeded', 'reverted',
                                'rejected', 'expired')),
    kind                    TEXT,
    session_public_key      TEXT,
    signature_json          TEXT,
    tx_hash                 TEXT,
    relayer_address         TEXT,
    relayer_nonce           TEXT,
    signed_tx_json          TEXT,
    fee                     TEXT,
    fee_unit                TEXT    NOT NULL,
    error_code              TEXT,
    error_message           TEXT,
    idempotency_key         TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    submitted_at            INTEGER,
    finalized_at            INTEGER,
    previous_tx_hashes_json TEXT,
    quota_json              TEXT,
    CONSTRAINT requests_id_key UNIQUE (id),
    CONSTRAINT requests_chain_account_nonce_key UNIQUE (chain, account, oe_nonce)
);
INSERT INTO requests_v4 (seq, id, org_id, wallet_id, chain, account, oe_nonce,
    typed_data_json, calls_json, execute_before, purpose, status, kind, session_public_key,
    signature_json, tx_hash, relayer_address, relayer_nonce, signed_tx_json, fee, fee_unit,
    error_code, error_message, idempotency_key, created_at, updated_at, submitted_at,
    finalized_at, previous_tx_hashes_json, quota_json)
    SELECT seq, id, org_id, wallet_id, 'STARKNET', account, oe_nonce,
        typed_data_json, calls_json, execute_before, purpose, status, kind, session_public_key,
        signature_json, tx_hash, relayer_address, relayer_nonce, signed_tx_json, fee_fri,
        'FRI', error_code, error_message, idempotency_key, created_at, updated_at,
        submitted_at, finalized_at, previous_tx_hashes_json, quota_json
    FROM requests;
DROP TABLE requests;
ALTER TABLE requests_v4 RENAME TO requests;
CREATE INDEX requests_status_created ON requests (status, created_at, seq);
CREATE INDEX requests_org_created ON requests (org_id, created_at, seq);
CREATE INDEX requests_wallet_created ON requests (wallet_id, created_at, seq);
CREATE INDEX requests_tx_hash ON requests (tx_hash);

CREATE TABLE relayers_v4 (
    chain            TEXT    NOT NULL,
    address          TEXT    NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    nonce            TEXT,
    updated_at       INTEGER NOT NULL,
    CONSTRAINT relayers_pkey PRIMARY KEY (chain, address)
);
INSERT INTO relayers_v4 (chain, address, lease_owner, lease_expires_at, nonce, updated_at)
    SELECT 'STARKNET', address, lease_owner, lease_expires_at, nonce, updated_at
    FROM relayers;
DROP TABLE relayers;
ALTER TABLE relayers_v4 RENAME TO relayers;

COMMIT;
PRAGMA foreign_keys = ON;
