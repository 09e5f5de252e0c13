-- latchkey schema, version 9 (PostgreSQL): operating latchkey for several organisations.
-- organizations.suspended_at: a suspended organisation's API calls are refused (its
-- transactions in flight still finish).
-- api_keys.expires_at: a rotated-out key keeps working until then (the overlap window).
-- operator_tokens: the operator's bearer tokens for the admin API, by hash; a rotated-out
-- token keeps working until its expires_at.
-- audit_log: every admin change (who, what, when, before and after), append-only: rows are
-- never updated or deleted (triggers refuse it).

ALTER TABLE organizations ADD COLUMN suspended_at BIGINT;
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;

CREATE TABLE operator_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    token_hash TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    CONSTRAINT operator_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_target ON audit_log (target, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
