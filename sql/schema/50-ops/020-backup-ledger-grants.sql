-- `bookingdb backup` records its run in ops.runs with the connection it dumps with:
-- a superuser, or a LOGIN member of bookingdb_backup (pg_read_all_data + BYPASSRLS),
-- which may otherwise write nothing. It may insert a run and finish it: these columns
-- only (the id comes from the identity column; SELECT comes with pg_read_all_data).
-- Applied as the owner, which owns the table.
GRANT INSERT (command, task, detail, client), UPDATE (status, finished_at, detail) ON ops.runs TO bookingdb_backup;
