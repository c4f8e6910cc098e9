-- tenant_id is the first column of every booking/ops table that has one (DESIGN.md).
SELECT pg_catalog.format('%I.%I: tenant_id is column %s, not the first', n.nspname, c.relname,
         (SELECT count(*) FROM pg_catalog.pg_attribute b
           WHERE b.attrelid = c.oid AND b.attnum > 0 AND NOT b.attisdropped AND b.attnum <= a.attnum)) AS violation
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
 WHERE n.nspname IN ('booking', 'ops') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute b
                WHERE b.attrelid = c.oid AND b.attnum > 0 AND NOT b.attisdropped AND b.attnum < a.attnum)
 ORDER BY 1;
