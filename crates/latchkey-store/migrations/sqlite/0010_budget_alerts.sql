-- latchkey schema, version 10 (SQLite): gas budget alert thresholds.
-- gas_budgets.alert_threshold_giga: the budget is alerting while what it has left to
-- reserve is below this (units of 10^9 of the fee unit, as the budget); NULL: no alert.

ALTER TABLE gas_budgets ADD COLUMN alert_threshold_giga INTEGER;
