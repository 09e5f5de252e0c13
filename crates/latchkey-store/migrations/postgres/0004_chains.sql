-- latchkey schema, version 4 (PostgreSQL): every wallet, request and relayer account names
-- its chain (a CAIP-2 id such as `starknet:SN_SEPOLIA` or `eip155:31337`), uniqueness holds
-- per chain (one user has one account per chain), and a request's fee carries its unit.
-- Existing rows are kept: they were written for the one Starknet chain the server ran on,
-- and keep the legacy chain name until the server adopts them
-- (`Store::adopt_legacy_chain`).

ALTER TABLE wallets DROP CONSTRAINT wallets_org_address_key;
ALTER TABLE wallets DROP CONSTRAINT wallets_org_external_user_key;
ALTER TABLE wallets ADD CONSTRAINT wallets_org_chain_address_key
    UNIQUE (org_id, chain, address);
ALTER TABLE wallets ADD CONSTRAINT wallets_org_chain_external_user_key
    UNIQUE (org_id, chain, external_user_id);

ALTER TABLE requests ADD COLUMN chain TEXT NOT NULL DEFAULT 'STARKNET';
ALTER TABLE requests ALTER COLUMN chain DROP DEFAULT;
ALTER TABLE requests RENAME COLUMN fee_fri TO fee;
ALTER TABLE requests ADD COLUMN fee_unit TEXT NOT NULL DEFAULT 'FRI';
ALTER TABLE requests ALTER COLUMN fee_unit DROP DEFAULT;
ALTER TABLE requests DROP CONSTRAINT requests_account_oe_nonce_key;
ALTER TABLE requests ADD CONSTRAINT requests_chain_account_nonce_key
    UNIQUE (chain, account, oe_nonce);

ALTER TABLE relayers ADD COLUMN chain TEXT NOT NULL DEFAULT 'STARKNET';
ALTER TABLE relayers ALTER COLUMN chain DROP DEFAULT;
ALTER TABLE relayers DROP CONSTRAINT relayers_pkey;
ALTER TABLE relayers ADD CONSTRAINT relayers_pkey PRIMARY KEY (chain, address);
