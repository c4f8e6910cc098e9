-- doctor: the settings it advises on, as pg_settings reports them (value in the
-- setting's own unit). Settings this role may not read (superuser-only ones such as
-- shared_preload_libraries, without pg_read_all_settings) are simply absent.
--   $1 the setting names
select s.name::text, s.setting, s.unit, s.vartype, s.context, s.source, s.pending_restart
  from pg_catalog.pg_settings s
 where s.name = any($1::text[])
