-- Every primary key, unique constraint, unique index, exclusion constraint and foreign
-- key of a booking/ops table with a tenant_id column starts with tenant_id, and a
-- foreign key to another tenant table matches tenant_id to its tenant column, so no
-- row can point into another tenant (and the schema can be distributed by tenant_id).
WITH tenant_tables AS (
  SELECT c.oid, a.attnum AS tenant_att
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
   WHERE n.nspname IN ('booking', 'ops') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
)
SELECT pg_catalog.format('%s: %s %s does not start with tenant_id', i.indrelid::regclass,
         CASE WHEN con.contype = 'p' THEN 'primary key' WHEN con.contype = 'x' THEN 'exclusion constraint'
              WHEN con.contype = 'u' THEN 'unique constraint' ELSE 'unique index' END,
         coalesce(con.conname, i.indexrelid::regclass::text)) AS violation
  FROM tenant_tables t
  JOIN pg_catalog.pg_index i ON i.indrelid = t.oid
  LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = t.oid
 WHERE (i.indisunique OR con.contype = 'x')
   AND i.indkey[0] <> t.tenant_att
UNION ALL
SELECT pg_catalog.format('%s: foreign key %I does not match tenant_id to %s''s tenant column',
         con.conrelid::regclass, con.conname, con.confrelid::regclass)
  FROM tenant_tables t
  JOIN pg_catalog.pg_constraint con ON con.conrelid = t.oid AND con.contype = 'f'
  LEFT JOIN tenant_tables ref ON ref.oid = con.confrelid
 WHERE con.conkey[1] <> t.tenant_att
    OR (ref.oid IS NOT NULL AND con.confkey[1] <> ref.tenant_att)
    OR (ref.oid IS NULL AND con.confrelid <> 'booking.tenants'::regclass)
ORDER BY 1;
