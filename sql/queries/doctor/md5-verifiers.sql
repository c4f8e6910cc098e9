-- doctor: LOGIN roles whose stored password is an MD5 verifier (pg_authid is readable
-- by superusers only; doctor only runs this when it may). Names only, never verifiers.
select a.rolname::text as name
  from pg_catalog.pg_authid a
 where a.rolcanlogin and a.rolpassword like 'md5%'
 order by a.rolname
