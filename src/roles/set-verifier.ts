import type { TransactionSql } from 'postgres';
import { quoteIdent, quoteLiteral } from '../db/ident.js';

/**
 * Sets a role's password from a SCRAM verifier without the verifier appearing in any
 * statement text. `ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'` cannot take parameters,
 * and pg_stat_statements keeps a utility statement's text as sent, where monitoring
 * roles (pg_read_all_stats) read it; log_statement = 'ddl' logs it too. So the ALTER
 * runs inside a pg_temp function, called with the role and verifier as bind
 * parameters: the top-level statement recorded is `select pg_temp...($1, $2)`, and
 * an error is re-raised without the statement text (PL/pgSQL's context would quote it).
 *
 * As superuser it also turns off, for this transaction only, statement logging, the
 * logging of bind parameters, and pg_stat_statements tracking (which with track = all
 * would record the nested ALTER). Without a superuser those stay as the server has
 * them: with log_statement = 'all' and log_parameter_max_length <> 0 the server logs
 * the parameters. Without TEMP on the database (no pg_temp function possible) it falls
 * back to the plain statement.
 */
const FUNCTION = `
CREATE OR REPLACE FUNCTION pg_temp.bookingdb_set_password(p_role text, p_verifier text) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE pg_catalog.format('ALTER ROLE %I PASSWORD %L', p_role, p_verifier);
EXCEPTION WHEN OTHERS THEN
  RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM;
END
$$`;

export async function setVerifier(tx: TransactionSql, role: string, verifier: string, superuser: boolean): Promise<void> {
  if (superuser) {
    await tx.unsafe("SET LOCAL log_statement = 'none'");
    await tx.unsafe('SET LOCAL log_min_duration_statement = -1');
    await tx.unsafe('SET LOCAL log_parameter_max_length = 0');
    await tx.unsafe('SET LOCAL log_parameter_max_length_on_error = 0');
    const [pss] = await tx`select pg_catalog.current_setting('pg_stat_statements.track', true) as track`;
    if (pss?.track) await tx.unsafe("SET LOCAL pg_stat_statements.track = 'none'");
  }
  const [temp] = await tx`select pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMP') as ok`;
  if (!temp?.ok) {
    await tx.unsafe(`ALTER ROLE ${quoteIdent(role)} PASSWORD ${quoteLiteral(verifier)}`);
    return;
  }
  await tx.unsafe(FUNCTION);
  await tx`select pg_temp.bookingdb_set_password(${role}, ${verifier})`;
  await tx.unsafe('DROP FUNCTION pg_temp.bookingdb_set_password(text, text)');
}
