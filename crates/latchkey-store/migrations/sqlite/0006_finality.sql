-- latchkey schema, version 6 (SQLite): a request's transaction can be executed but not final
-- yet. `pre_confirmed`: in the node's pre-confirmed block; `accepted`: in a block that a
-- reorg could still undo. Fees are settled and effects mirrored only once it is final
-- (`succeeded` or `reverted`); a reorg sends it back to `submitted`.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with its rows
-- (nothing references it).

CREATE TABLE requests_v6 (
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
                                'submitting', 'submitted', 'pre_confirmed', 'accepted',
                                'succeeded', 'reverted', 'rejected', 'expired')),
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
    payload_hash            TEXT,
    CONSTRAINT requests_id_key UNIQUE (id),
    CONSTRAINT requests_chain_account_nonce_key UNIQUE (chain, account, oe_nonce)
);
INSERT INTO requests_v6 (seq, id, org_id, wallet_id, chain, account, oe_nonce,
    typed_data_json, calls_json, execute_before, purpose, status, kind, session_public_key,
    signature_json, tx_hash, relayer_address, relayer_nonce, signed_tx_json, fee, fee_unit,
    error_code, error_message, idempotency_key, created_at, updated_at, submitted_at,
    finalized_at, previous_tx_hashes_json, quota_json, payload_hash)
    SELECT seq, id, org_id, wallet_id, chain, account, oe_nonce,
        typed_data_json, calls_json, execute_before, purpose, status, kind, session_public_key,
        signature_json, tx_hash, relayer_address, relayer_nonce, signed_tx_json, fee, fee_unit,
        error_code, error_message, idempotency_key, created_at, updated_at, submitted_at,
        finalized_at, previous_tx_hashes_json, quota_json, payload_hash
    FROM requests;
DROP TABLE requests;
ALTER TABLE requests_v6 RENAME TO requests;
CREATE INDEX requests_status_created ON requests (status, created_at, seq);
CREATE INDEX requests_org_created ON requests (org_id, created_at, seq);
CREATE INDEX requests_wallet_created ON requests (wallet_id, created_at, seq);
CREATE INDEX requests_tx_hash ON requests (tx_hash);
