/* bookingdb slow-queries */
-- Since when pg_stat_statements has been counting (pg_stat_statements_info, 1.9+), and how
-- many distinct statements it evicted for lack of room (pg_stat_statements.max).
-- @pgss_info@ is replaced by the quoted view name in the extension's schema.
select i.stats_reset, i.dealloc from @pgss_info@ i
