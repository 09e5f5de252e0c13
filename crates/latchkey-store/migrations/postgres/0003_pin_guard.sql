-- latchkey schema, version 3 (PostgreSQL): the attempt counter of PIN unlocks through the
-- OPRF, per wallet address, and the append-only record of what reset or locked it.

-- Consecutive OPRF evaluations for this address without a proved unlock, and the end of
-- the lock they caused (0 = not locked).
CREATE TABLE pin_guards (
    org_id          TEXT    NOT NULL REFERENCES organizations (id),
    address         TEXT    NOT NULL,
    failures        BIGINT  NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until    BIGINT  NOT NULL DEFAULT 0,
    evaluations     BIGINT  NOT NULL DEFAULT 0 CHECK (evaluations >= 0),
    last_attempt_at BIGINT  NOT NULL,
    CONSTRAINT pin_guards_pkey PRIMARY KEY (org_id, address)
);

-- Every reset (proved unlock, organisation) and every lock, with the counter before it.
CREATE TABLE pin_events (
    seq              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id           TEXT    NOT NULL REFERENCES organizations (id),
    address          TEXT    NOT NULL,
    kind             TEXT    NOT NULL CHECK (kind IN ('locked', 'proved', 'reset')),
    principal        TEXT    NOT NULL,
    failures_before  BIGINT  NOT NULL,
    locked_until     BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX pin_events_address ON pin_events (org_id, address, seq);
