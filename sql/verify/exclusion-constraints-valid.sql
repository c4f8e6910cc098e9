-- Every exclusion constraint in booking/ops is validated, and its index is valid.
SELECT pg_catalog.format('%s: exclusion constraint %I is %s', con.conrelid::regclass, con.conname,
         CASE WHEN NOT con.convalidated THEN 'not validated' ELSE 'backed by an invalid index' END) AS violation
  FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
  LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = con.conindid
 WHERE con.contype = 'x'
   AND n.nspname IN ('booking', 'ops')
   AND (NOT con.convalidated OR i.indexrelid IS NULL OR NOT i.indisvalid)
 ORDER BY 1;
