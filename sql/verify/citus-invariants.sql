-- What Citus needs to distribute the schema by tenant_id without a redesign (and what
-- `bookingdb deploy --citus` assumes, src/deploy/citus.ts). The split, read from the
-- catalog as deploy --citus does:
--   distributed: every booking/ops table with a tenant_id column (ops.audit_log too:
--                the API writes it, so it must live on the tenant's shard);
--   reference:   the booking tables without one (booking.tenants, whose UNIQUE (slug)
--                cannot include a distribution column, and lookups such as
--                booking.iana_timezones): copied to every node;
--   local:       the other ops tables (ledgers, snapshots) stay on the coordinator.
-- Violations: a primary key, unique constraint/index or exclusion constraint of a
-- distributed table without tenant_id (an exclusion constraint must compare it WITH =);
-- a foreign key of a distributed table that does not pair tenant_id with the referenced
-- distributed table's tenant_id, or that points at a local table; a foreign key from a
-- reference table to a non-reference one; a user trigger on a distributed table; a
-- row-level security policy with a subquery; an API function (SECURITY DEFINER in
-- booking) whose first argument is not p_tenant_id uuid (the distribution argument).
-- Catalog reads only (pg_constraint rows of contype 'n', PostgreSQL 18, are ignored).
WITH rels AS (
  SELECT c.oid, n.nspname, c.relispartition,
         (SELECT a.attnum FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS tenant_att
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname IN ('booking', 'ops') AND c.relkind IN ('r', 'p')
), kinds AS (
  SELECT r.oid, r.tenant_att, r.relispartition,
         CASE WHEN r.tenant_att IS NOT NULL THEN 'distributed'
              WHEN r.nspname = 'booking' THEN 'reference' ELSE 'local' END AS kind
    FROM rels r
), dist AS (
  SELECT * FROM kinds WHERE kind = 'distributed'
)
SELECT pg_catalog.format('%s: %s %s does not include tenant_id', i.indrelid::regclass,
         CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint'
              WHEN 'x' THEN 'exclusion constraint' ELSE 'unique index' END,
         coalesce(con.conname, i.indexrelid::regclass::text)) AS violation
  FROM dist d
  JOIN pg_catalog.pg_index i ON i.indrelid = d.oid
  LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = d.oid AND con.contype IN ('p', 'u', 'x')
 WHERE NOT d.relispartition
   AND (i.indisunique OR con.contype = 'x')
   AND NOT d.tenant_att = ANY (i.indkey::int2[])
UNION ALL
SELECT pg_catalog.format('%s: exclusion constraint %I does not compare tenant_id WITH =', con.conrelid::regclass, con.conname)
  FROM dist d
  JOIN pg_catalog.pg_constraint con ON con.conrelid = d.oid AND con.contype = 'x'
 WHERE NOT d.relispartition
   AND d.tenant_att = ANY (con.conkey)
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.generate_subscripts(con.conkey, 1) s
                    JOIN pg_catalog.pg_operator o ON o.oid = con.conexclop[s]
                   WHERE con.conkey[s] = d.tenant_att AND o.oprname = '=')
UNION ALL
SELECT pg_catalog.format('%s: foreign key %I %s', con.conrelid::regclass, con.conname,
         CASE WHEN ref.kind = 'local' OR ref.oid IS NULL THEN pg_catalog.format('points at %s, which stays on the coordinator', con.confrelid::regclass)
              ELSE pg_catalog.format('does not pair tenant_id with %s''s tenant_id', con.confrelid::regclass) END)
  FROM dist d
  JOIN pg_catalog.pg_constraint con ON con.conrelid = d.oid AND con.contype = 'f'
  LEFT JOIN kinds ref ON ref.oid = con.confrelid
 WHERE NOT d.relispartition
   AND (ref.oid IS NULL OR ref.kind = 'local'
        OR (ref.kind = 'distributed' AND NOT EXISTS (
              SELECT 1 FROM pg_catalog.generate_subscripts(con.conkey, 1) s
               WHERE con.conkey[s] = d.tenant_att AND con.confkey[s] = ref.tenant_att)))
UNION ALL
SELECT pg_catalog.format('%s: foreign key %I of a reference table points at %s, which is not one', con.conrelid::regclass, con.conname, con.confrelid::regclass)
  FROM kinds k
  JOIN pg_catalog.pg_constraint con ON con.conrelid = k.oid AND con.contype = 'f'
  LEFT JOIN kinds ref ON ref.oid = con.confrelid
 WHERE k.kind = 'reference' AND ref.kind IS DISTINCT FROM 'reference'
UNION ALL
SELECT pg_catalog.format('%s: trigger %I on a table Citus distributes by tenant_id', t.tgrelid::regclass, t.tgname)
  FROM dist d
  JOIN pg_catalog.pg_trigger t ON t.tgrelid = d.oid AND NOT t.tgisinternal
UNION ALL
SELECT pg_catalog.format('%s: policy %I has a subquery in its %s', p.polrelid::regclass, p.polname,
         CASE WHEN p.polqual::text LIKE '%{SUBLINK %' THEN 'USING' ELSE 'WITH CHECK' END)
  FROM pg_catalog.pg_policy p
  JOIN rels r ON r.oid = p.polrelid
 WHERE p.polqual::text LIKE '%{SUBLINK %' OR p.polwithcheck::text LIKE '%{SUBLINK %'
UNION ALL
SELECT pg_catalog.format('%s: an API function whose first argument is not p_tenant_id uuid (Citus distributes it by $1)', p.oid::regprocedure)
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'booking'::regnamespace AND p.prosecdef
   AND (p.pronargs = 0 OR p.proargtypes[0] <> 'uuid'::regtype OR coalesce(p.proargnames[1], '') <> 'p_tenant_id')
ORDER BY 1;
