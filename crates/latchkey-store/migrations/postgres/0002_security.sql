-- latchkey schema, version 2 (PostgreSQL): organisation-bound end-user token issuers and
-- sponsorship policies, single-use proofs of key possession, the history of every stored
-- key blob, daily sponsored-gas quotas, cool-downs for wallets whose transactions revert,
-- idempotency keys scoped to the caller, and every transaction hash a request has used.
-- Existing rows are kept.

-- {jwksUrl, issuer, audience} for this organisation's end-user tokens, and the
-- (issuer, audience) pair as one text: unique, so no token is valid for two organisations.
ALTER TABLE organizations ADD COLUMN token_issuer_json TEXT;
ALTER TABLE organizations ADD COLUMN token_issuer_key TEXT;
CREATE UNIQUE INDEX organizations_token_issuer_key ON organizations (token_issuer_key);
-- The organisation's sponsorship policy (JSON); NULL = the defaults.
ALTER TABLE organizations ADD COLUMN sponsorship_policy_json TEXT;

-- Consecutive reverted sponsored transactions, and the end of the cool-down they caused.
ALTER TABLE wallets ADD COLUMN revert_streak BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE wallets ADD COLUMN cooldown_until BIGINT;

-- Hashes the request signed before its current `tx_hash` (a JSON array), and the daily
-- quotas its reservation was charged to (a JSON array of {scope, key, day}).
ALTER TABLE requests ADD COLUMN previous_tx_hashes_json TEXT;
ALTER TABLE requests ADD COLUMN quota_json TEXT;

-- Server-issued challenges a key holder signs to prove possession; each is used once.
CREATE TABLE challenges (
    challenge  TEXT    NOT NULL,
    org_id     TEXT    NOT NULL REFERENCES organizations (id),
    purpose    TEXT    NOT NULL,
    principal  TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT,
    CONSTRAINT challenges_pkey PRIMARY KEY (challenge)
);
CREATE INDEX challenges_expires ON challenges (expires_at);

-- Custody events of a wallet's stored key blobs: every replacement keeps the blobs it
-- replaced (so an overwrite can be undone), and every read by an organisation is recorded.
CREATE TABLE wallet_key_events (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT    NOT NULL,
    wallet_id       TEXT    NOT NULL REFERENCES wallets (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('read', 'replaced', 'restored')),
    principal       TEXT    NOT NULL,
    route           TEXT    NOT NULL,
    proof           TEXT    NOT NULL,
    previous_key    TEXT,
    previous_backup TEXT,
    created_at      BIGINT  NOT NULL,
    CONSTRAINT wallet_key_events_id_key UNIQUE (id)
);
CREATE INDEX wallet_key_events_wallet ON wallet_key_events (wallet_id, seq);

-- Sponsored gas per UTC day, per wallet and per end user, in units of 10^9 FRI.
CREATE TABLE gas_usage (
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    scope         TEXT    NOT NULL CHECK (scope IN ('wallet', 'user')),
    scope_key     TEXT    NOT NULL,
    day           BIGINT  NOT NULL,
    reserved_gfri BIGINT  NOT NULL DEFAULT 0 CHECK (reserved_gfri >= 0),
    spent_gfri    BIGINT  NOT NULL DEFAULT 0 CHECK (spent_gfri >= 0),
    CONSTRAINT gas_usage_pkey PRIMARY KEY (org_id, scope, scope_key, day)
);

-- Idempotency keys are scoped to (organisation, principal): one end user's key never
-- answers another's request. `owner` names the instance running an in-flight request, so
-- that instance can release what a crash left in flight.
ALTER TABLE idempotency_keys ADD COLUMN principal TEXT NOT NULL DEFAULT 'organization';
ALTER TABLE idempotency_keys ALTER COLUMN principal DROP DEFAULT;
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (org_id, principal, idempotency_key);
