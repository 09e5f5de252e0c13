-- latchkey schema, version 6 (PostgreSQL): a request's transaction can be executed but not
-- final yet. `pre_confirmed`: in the node's pre-confirmed block; `accepted`: in a block that
-- a reorg could still undo. Fees are settled and effects mirrored only once it is final
-- (`succeeded` or `reverted`); a reorg sends it back to `submitted`.

ALTER TABLE requests DROP CONSTRAINT requests_status_check;
ALTER TABLE requests ADD CONSTRAINT requests_status_check CHECK (status IN ('prepared',
    'recorded', 'submitting', 'submitted', 'pre_confirmed', 'accepted', 'succeeded',
    'reverted', 'rejected', 'expired'));
