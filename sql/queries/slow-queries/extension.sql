/* bookingdb slow-queries */
-- slow-queries preflight: is pg_stat_statements installed in this database, in which
-- schema, and is it in shared_preload_libraries? One row, always. `preload` is NULL when
-- this role may not read the setting (needs superuser or pg_read_all_settings, which
-- pg_monitor and so bookingdb_monitor have).
select pg_catalog.current_database()::text as database,
       n.nspname::text as schema,
       e.extversion::text as version,
       (select s.setting from pg_catalog.pg_settings s where s.name = 'shared_preload_libraries') as preload
  from (select 1) as one
  left join pg_catalog.pg_extension e on e.extname = 'pg_stat_statements'
  left join pg_catalog.pg_namespace n on n.oid = e.extnamespace
