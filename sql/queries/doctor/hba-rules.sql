-- doctor: the parsed pg_hba.conf (pg_hba_file_rules needs superuser or an explicit
-- EXECUTE grant; doctor only runs this when has_function_privilege says it may).
select h.line_number, h.type, h.database::text[] as databases, h.user_name::text[] as users,
       h.address, h.auth_method, h.error
  from pg_catalog.pg_hba_file_rules h
 order by h.line_number
