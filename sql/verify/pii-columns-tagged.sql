-- Columns that hold personal data are tagged COMMENT ... IS 'pii' (erasure, retention
-- and exports find them by the tag), and the audit log holds none.
SELECT pg_catalog.format('%I.%I.%I holds personal data but is not commented ''pii''',
         n.nspname, c.relname, a.attname) AS violation
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('booking', 'ops') AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND a.attnum > 0 AND NOT a.attisdropped
   AND a.attname IN ('email', 'phone', 'full_name', 'first_name', 'last_name', 'address',
                     'birth_date', 'note', 'notes', 'cancel_reason')
   AND pg_catalog.col_description(c.oid, a.attnum) IS DISTINCT FROM 'pii'
UNION ALL
SELECT pg_catalog.format('ops.audit_log.%I is tagged pii: the audit log must hold ids and actions only', a.attname)
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = 'ops.audit_log'::regclass AND a.attnum > 0 AND NOT a.attisdropped
   AND pg_catalog.col_description(a.attrelid, a.attnum) = 'pii'
ORDER BY 1;
