-- latchkey schema, version 8 (PostgreSQL): what browser apps of an organisation need.
-- allowed_origins: the browser origins each organisation allows. A browser on a listed
-- origin may call the API with that organisation's keys; origins are stored normalised
-- (scheme://host[:port], lower case, no default port).
-- org_tokens: the ERC-20 tokens an organisation names by symbol on a chain (balances by
-- symbol, as the Chipi API reads them), beside the chains' own fee tokens.

CREATE TABLE allowed_origins (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, origin)
);
CREATE INDEX allowed_origins_origin ON allowed_origins (origin);

CREATE TABLE org_tokens (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    chain TEXT NOT NULL,
    symbol TEXT NOT NULL,
    address TEXT NOT NULL,
    decimals BIGINT NOT NULL CHECK (decimals >= 0 AND decimals <= 36),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, chain, symbol)
);
