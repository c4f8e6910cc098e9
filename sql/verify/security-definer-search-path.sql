-- Every SECURITY DEFINER function in booking/ops pins its search_path, so a caller
-- cannot plant objects that the function would resolve with the owner's rights.
SELECT pg_catalog.format('%s: SECURITY DEFINER without a pinned search_path', p.oid::regprocedure) AS violation
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE p.prosecdef
   AND n.nspname IN ('booking', 'ops')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) AS c(setting) WHERE c.setting LIKE 'search\_path=%')
 ORDER BY 1;
