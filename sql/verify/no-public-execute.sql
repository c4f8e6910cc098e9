-- No function in booking/ops is executable by PUBLIC (grants go to the group roles).
SELECT pg_catalog.format('%s: EXECUTE is granted to PUBLIC', p.oid::regprocedure) AS violation
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('booking', 'ops')
   AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;
