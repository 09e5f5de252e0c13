-- latchkey schema, version 5 (SQLite): gas budgets per (organisation, chain, fee unit), and
-- one stored shape for what a session may do.
--
-- Budgets move from three columns of `organizations` (FRI on the one Starknet chain) to
-- `gas_budgets`, one row per organisation, chain (CAIP-2 id) and unit (`FRI`, `WEI`);
-- amounts stay in units of 10^9 of the fee unit (gFRI, gwei). Existing budgets keep the
-- legacy chain name until the server adopts them (`Store::adopt_legacy_chain`).
--
-- Sessions stored their methods in two shapes (`{methods, spendingTokens}` from the
-- native API, a bare method list mirrored from Chipi calls), contract `0x0` meaning any.
-- `grant_json` replaces both with one: `{"permissions": [{"target", "selector"}],
-- "spendingTokens": [...]}`, `target` null for any contract.
--
-- A request records the digest of the payload it signs (`payload_hash`), so a signed
-- payload is matched to the one issued by digest, without reading the issued one again.
-- Requests written before have none and are matched by reading their payload.

CREATE TABLE gas_budgets (
    org_id        TEXT    NOT NULL REFERENCES organizations (id),
    chain         TEXT    NOT NULL,
    unit          TEXT    NOT NULL,
    budget_giga   INTEGER NOT NULL DEFAULT 0 CHECK (budget_giga >= 0),
    spent_giga    INTEGER NOT NULL DEFAULT 0 CHECK (spent_giga >= 0),
    reserved_giga INTEGER NOT NULL DEFAULT 0 CHECK (reserved_giga >= 0),
    CONSTRAINT gas_budgets_pkey PRIMARY KEY (org_id, chain, unit)
);
INSERT INTO gas_budgets (org_id, chain, unit, budget_giga, spent_giga, reserved_giga)
    SELECT id, 'STARKNET', 'FRI', gas_budget_gfri, gas_spent_gfri, gas_reserved_gfri
    FROM organizations;
ALTER TABLE organizations DROP COLUMN gas_budget_gfri;
ALTER TABLE organizations DROP COLUMN gas_spent_gfri;
ALTER TABLE organizations DROP COLUMN gas_reserved_gfri;

ALTER TABLE sessions ADD COLUMN grant_json TEXT NOT NULL
    DEFAULT '{"permissions":[],"spendingTokens":[]}';
UPDATE sessions SET grant_json = json_object(
    'permissions', json((
        SELECT json_group_array(json_object(
            'target', CASE WHEN json_extract(m.value, '$.contract') = '0x0' THEN NULL
                           ELSE json_extract(m.value, '$.contract') END,
            'selector', json_extract(m.value, '$.selector')))
        FROM json_each(sessions.allowed_methods_json,
            CASE WHEN json_type(sessions.allowed_methods_json) = 'array' THEN '$'
                 ELSE '$.methods' END) AS m)),
    'spendingTokens', json(COALESCE(
        CASE WHEN json_type(allowed_methods_json) = 'object'
             THEN json_extract(allowed_methods_json, '$.spendingTokens') END,
        '[]')))
    WHERE json_valid(allowed_methods_json);
ALTER TABLE sessions DROP COLUMN allowed_methods_json;

ALTER TABLE requests ADD COLUMN payload_hash TEXT;
