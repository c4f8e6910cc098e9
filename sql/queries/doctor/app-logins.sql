-- doctor: LOGIN roles that are members (directly or through other roles) of the app
-- group role, with the attributes that would defeat row-level security.
--   $1 the app group role (e.g. bookingdb_app)
with recursive members(oid) as (
  select m.member
    from pg_catalog.pg_auth_members m
    join pg_catalog.pg_roles g on g.oid = m.roleid
   where g.rolname = $1
  union
  select m.member from pg_catalog.pg_auth_members m join members x on m.roleid = x.oid
)
select r.rolname::text as name, r.rolsuper as superuser, r.rolbypassrls as bypassrls
  from pg_catalog.pg_roles r
  join members x on x.oid = r.oid
 where r.rolcanlogin
 order by r.rolname
