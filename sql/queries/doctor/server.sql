-- doctor: facts about the server and this connection. One row. `server_addr` is NULL on
-- a Unix socket; `ssl` is false when this connection is not encrypted. The database
-- size is of the current database only (sizing others needs CONNECT on each).
select pg_catalog.current_setting('server_version') as version,
       pg_catalog.current_setting('server_version_num')::int as version_num,
       pg_catalog.pg_postmaster_start_time() as started_at,
       extract(epoch from pg_catalog.now() - pg_catalog.pg_postmaster_start_time())::float8 as uptime_seconds,
       pg_catalog.current_database()::text as database,
       pg_catalog.pg_database_size(pg_catalog.current_database())::float8 as database_bytes,
       current_user::text as role,
       coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user), false) as superuser,
       pg_catalog.pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') as reads_all_settings,
       pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') as reads_hba,
       pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT') as reads_authid,
       pg_catalog.host(pg_catalog.inet_server_addr()) as server_addr,
       coalesce(ssl.ssl, false) as ssl,
       ssl.version as ssl_version,
       ssl.cipher as ssl_cipher,
       (select count(*) from pg_catalog.pg_stat_activity a where a.backend_type = 'client backend')::int as client_connections
  from (select 1) as one
  left join pg_catalog.pg_stat_ssl ssl on ssl.pid = pg_catalog.pg_backend_pid()
