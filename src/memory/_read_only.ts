import type { Sql, TransactionSql } from "../db/mod.ts";

/**
 * Runs `fn` in a `READ ONLY` transaction, so Postgres itself refuses any
 * write the reader might attempt (SQLSTATE 25006), whatever its role may do.
 */
export async function readOnly<T>(sql: Sql, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return await sql.begin("read only", fn) as T;
}
