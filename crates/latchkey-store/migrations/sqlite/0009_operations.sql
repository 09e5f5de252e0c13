-- latchkey schema, version 9 (SQLite): operating latchkey for several organisations.
-- organizations.suspended_at: a suspended organisation's API calls are refused (its
-- transactions in flight still finish).
-- api_keys.expires_at: a rotated-out key keeps working until then (the overlap window).
-- operator_tokens: the operator's bearer tokens for the admin API, by hash; a rotated-out
-- token keeps working until its expires_at.
-- audit_log: every admin change (who, what, when, before and after), append-only: rows are
-- never updated or deleted (triggers refuse it).

ALTER TABLE organizations ADD COLUMN suspended_at INTEGER;
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;

CREATE TABLE operator_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    token_hash TEXT    NOT NULL,
    prefix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    CONSTRAINT operator_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_target ON audit_log (target, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
