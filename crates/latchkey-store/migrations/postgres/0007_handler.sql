-- latchkey schema, version 7 (PostgreSQL): the instance handling a request. A live call that
-- records a request names its instance here; another instance sharing the database leaves
-- the request to it while that instance is alive (it holds relayer-account leases), and
-- takes it over once it is not.

ALTER TABLE requests ADD COLUMN handler TEXT;
