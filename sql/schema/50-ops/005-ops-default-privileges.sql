-- bookingdb: run as ops
-- Functions bookingdb_ops creates are executable by nobody until a file grants them
-- (PostgreSQL's default gives PUBLIC EXECUTE). Each ops function is then granted to
-- exactly the role that needs it: ops.health_check() to monitor, maintenance to owner.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
