import { SpanStatusCode, trace } from "@opentelemetry/api";
import type { Sql, TransactionSql } from "../db/mod.ts";

/**
 * Runs `fn` in a `READ ONLY` transaction, so Postgres itself refuses any
 * write the reader might attempt (SQLSTATE 25006), whatever its role may do.
 * One span per read, named after the query (never its values).
 */
export async function readOnly<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => Promise<T>,
  options: { query?: string } = {},
): Promise<T> {
  const query = options.query ?? "read";
  // Looked up on each use: a tracer cached at import would outlive a restarted SDK.
  return await trace.getTracer("keel").startActiveSpan(
    `memory ${query}`,
    { attributes: { "keel.memory.query": query } },
    async (span) => {
      try {
        return await sql.begin("read only", fn) as T;
      } catch (error) {
        const code = (error as { code?: string }).code ?? "unknown";
        span.setAttribute("error.type", code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `memory ${query} failed: ${code}` });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
