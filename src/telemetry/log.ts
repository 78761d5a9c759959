import { trace } from "@opentelemetry/api";
import type { LogLevel } from "../config/mod.ts";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields attached to one log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Writes structured JSON log lines. */
export interface Logger {
  /** Writes a debug line. */
  debug(message: string, fields?: LogFields): void;
  /** Writes an info line. */
  info(message: string, fields?: LogFields): void;
  /** Writes a warning. */
  warn(message: string, fields?: LogFields): void;
  /** Writes an error. */
  error(message: string, fields?: LogFields): void;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. */
  readonly level: LogLevel;
  /** Named process, e.g. `worker`. */
  readonly service: string;
  /** Where lines go; stderr by default, so stdout stays for program output. */
  readonly write?: (line: string) => void;
  /** The clock, for tests. */
  readonly now?: () => Date;
}

function errorFields(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const fields: Record<string, unknown> = { name: value.name, message: value.message };
  if (value.cause !== undefined) fields.cause = errorFields(value.cause);
  return fields;
}

/** Creates a logger that writes one JSON object per line. */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => console.error(line));
  const now = options.now ?? (() => new Date());
  const threshold = ORDER[options.level];
  function emit(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (ORDER[level] < threshold) return;
    const record: Record<string, unknown> = {
      time: now().toISOString(),
      level,
      service: options.service,
      message,
    };
    // Correlates the line with the span it was written in, when one is recording.
    const span = trace.getActiveSpan()?.spanContext();
    if (span && trace.isSpanContextValid(span)) {
      record.trace_id = span.traceId;
      record.span_id = span.spanId;
    }
    for (const [key, value] of Object.entries(fields)) record[key] = errorFields(value);
    write(JSON.stringify(record));
  }
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
  };
}
