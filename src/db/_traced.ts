import { type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type postgres from "postgres";

// Looked up on each use: a tracer cached at import would outlive a restarted SDK.
function tracer() {
  return trace.getTracer("keel");
}

type Query = { then: (ok?: unknown, fail?: unknown) => Promise<unknown> };

function isTemplate(args: readonly unknown[]): args is [TemplateStringsArray, ...unknown[]] {
  return Array.isArray(args[0]) && Object.hasOwn(args[0] as object, "raw");
}

/**
 * The statement as written, with each interpolated value shown as `$n`: the
 * text never holds a parameter value, so it is safe to export.
 */
export function queryText(strings: readonly string[]): string {
  const text = strings.reduce((sql, part, i) => `${sql}$${i}${part}`);
  return text.replace(/\s+/g, " ").trim().slice(0, 2000);
}

/** The operation and main table of a statement, for the span name. */
export function describeQuery(text: string): { operation: string; collection?: string } {
  const operation = (text.match(/^\(?\s*([A-Za-z]+)/)?.[1] ?? "QUERY").toUpperCase();
  const table = text.match(/\b(?:FROM|INTO|UPDATE|JOIN)\s+([a-z_][a-z0-9_]*)/i)?.[1];
  return table ? { operation, collection: table } : { operation };
}

function end(span: Span, error?: unknown): void {
  if (error !== undefined) {
    // Postgres error messages and details can quote row values: only the code is kept.
    const code = (error as { code?: string }).code ?? "unknown";
    span.setAttribute("error.type", code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `postgres error ${code}` });
  }
  span.end();
}

function traceQuery<T>(query: T, strings: readonly string[]): T {
  const text = queryText(strings);
  const { operation, collection } = describeQuery(text);
  const run = (query as unknown as Query).then.bind(query);
  // postgres.js may call `then` more than once on one query (a transaction
  // awaits it too): the first call runs it in a span, later ones share that.
  let traced: Promise<unknown> | undefined;
  (query as unknown as Query).then = (ok, fail) => {
    traced ??= tracer().startActiveSpan(collection ? `${operation} ${collection}` : operation, {
      kind: SpanKind.CLIENT,
      attributes: {
        "db.system.name": "postgresql",
        "db.system": "postgresql",
        "db.operation.name": operation,
        "db.query.text": text,
        ...(collection ? { "db.collection.name": collection } : {}),
      },
    }, (span) =>
      run(
        (rows: unknown) => {
          if (Array.isArray(rows)) span.setAttribute("db.response.returned_rows", rows.length);
          end(span);
          return rows;
        },
        (error: unknown) => {
          end(span, error);
          throw error;
        },
      ));
    return traced.then(ok as never, fail as never);
  };
  return query;
}

function wrapCallback(args: unknown[]): unknown[] {
  return args.map((arg) =>
    typeof arg === "function"
      ? (tx: postgres.TransactionSql) => (arg as (tx: unknown) => unknown)(traced(tx))
      : arg
  );
}

/**
 * Wraps a postgres.js client so each statement it runs, in or out of a
 * transaction, becomes a CLIENT span named `<OPERATION> <table>` with the
 * OpenTelemetry database attributes. With no tracer registered the spans are
 * no-ops.
 */
export function traced<T extends postgres.Sql | postgres.TransactionSql>(sql: T): T {
  return new Proxy(sql, {
    apply(target, thisArg, args) {
      const result = Reflect.apply(target as never, thisArg, args);
      return isTemplate(args) ? traceQuery(result, args[0]) : result;
    },
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === "begin" || property === "savepoint") {
        return (...args: unknown[]) =>
          (value as (...a: unknown[]) => unknown).apply(target, wrapCallback(args));
      }
      if (property === "reserve") {
        return async () =>
          traced(await (value as () => Promise<postgres.ReservedSql>).apply(target));
      }
      return value;
    },
  });
}
