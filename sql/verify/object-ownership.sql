-- Every object in bookingdb's schemas and in public is owned by bookingdb_owner (or by
-- bookingdb_ops, the role that owns what must see every tenant, once it exists), and
-- bookingdb's schemas themselves are. Anything else was created by someone else: in
-- the planted-function attack, an app login's public.setseed(numeric). Objects that
-- belong to an extension (pg_depend deptype 'e', owned by whoever created it) are
-- not named, nor are implicit array and row types (they follow their element or
-- relation) or indexes (they follow their table).
WITH owners AS (
  SELECT r.oid FROM pg_catalog.pg_roles r
   WHERE r.rolname IN ('bookingdb_owner', 'bookingdb_ops')
),
schemas AS (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
   WHERE n.nspname IN ('public', 'booking', 'ops', 'ext', 'reporting')
),
objects (classid, objid, kind, owner) AS (
  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid,
         CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                        WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.relowner
    FROM pg_catalog.pg_class c JOIN schemas s ON s.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid,
         CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, p.proowner
    FROM pg_catalog.pg_proc p JOIN schemas s ON s.oid = p.pronamespace
  UNION ALL
  SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.typowner
    FROM pg_catalog.pg_type t JOIN schemas s ON s.oid = t.typnamespace
   WHERE (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid)
  UNION ALL
  SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid, 'OPERATOR', o.oprowner
    FROM pg_catalog.pg_operator o JOIN schemas s ON s.oid = o.oprnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, c.oid, 'COLLATION', c.collowner
    FROM pg_catalog.pg_collation c JOIN schemas s ON s.oid = c.collnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, c.oid, 'CONVERSION', c.conowner
    FROM pg_catalog.pg_conversion c JOIN schemas s ON s.oid = c.connamespace
  UNION ALL
  SELECT 'pg_catalog.pg_opclass'::pg_catalog.regclass, c.oid, 'OPERATOR CLASS', c.opcowner
    FROM pg_catalog.pg_opclass c JOIN schemas s ON s.oid = c.opcnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, f.oid, 'OPERATOR FAMILY', f.opfowner
    FROM pg_catalog.pg_opfamily f JOIN schemas s ON s.oid = f.opfnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, c.oid, 'TEXT SEARCH CONFIGURATION', c.cfgowner
    FROM pg_catalog.pg_ts_config c JOIN schemas s ON s.oid = c.cfgnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, d.oid, 'TEXT SEARCH DICTIONARY', d.dictowner
    FROM pg_catalog.pg_ts_dict d JOIN schemas s ON s.oid = d.dictnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass, x.oid, 'STATISTICS', x.stxowner
    FROM pg_catalog.pg_statistic_ext x JOIN schemas s ON s.oid = x.stxnamespace
  UNION ALL
  SELECT 'pg_catalog.pg_namespace'::pg_catalog.regclass, n.oid, 'SCHEMA', n.nspowner
    FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('booking', 'ops', 'ext', 'reporting')
)
SELECT pg_catalog.format('%s %s is owned by %s, not bookingdb_owner (fix: DROP %s %s if nobody here meant to create it, else ALTER %s %s OWNER TO bookingdb_owner)',
         pg_catalog.lower(o.kind), i.identity, pg_catalog.pg_get_userbyid(o.owner), o.kind, i.identity, o.kind, i.identity) AS violation
  FROM objects o
 CROSS JOIN LATERAL pg_catalog.pg_identify_object(o.classid, o.objid, 0) AS i
 WHERE o.owner NOT IN (SELECT oid FROM owners)
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = o.classid AND d.objid = o.objid AND d.deptype = 'e')
ORDER BY 1;
