-- No invalid index (e.g. left behind by a failed CREATE INDEX CONCURRENTLY) in booking/ops.
SELECT pg_catalog.format('%s: index %s is invalid', i.indrelid::regclass, i.indexrelid::regclass) AS violation
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('booking', 'ops')
   AND (NOT i.indisvalid OR NOT i.indisready)
 ORDER BY 1;
