import type { LogLevel as TemporalLogLevel, LogMetadata } from "@temporalio/common";
import type { Logger } from "./log.ts";

/** The logger interface the Temporal SDK expects. */
export interface TemporalLogger {
  /** Logs at a Temporal level. */
  log(level: TemporalLogLevel, message: string, meta?: LogMetadata): void;
  /** Trace level, mapped to debug. */
  trace(message: string, meta?: LogMetadata): void;
  /** Debug level. */
  debug(message: string, meta?: LogMetadata): void;
  /** Info level. */
  info(message: string, meta?: LogMetadata): void;
  /** Warn level. */
  warn(message: string, meta?: LogMetadata): void;
  /** Error level. */
  error(message: string, meta?: LogMetadata): void;
}

/** Routes the Temporal SDK's logs into Keel's JSON log lines. */
export function temporalLogger(log: Logger): TemporalLogger {
  function write(level: TemporalLogLevel, message: string, meta: LogMetadata = {}): void {
    switch (level) {
      case "TRACE":
      case "DEBUG":
        return log.debug(message, meta);
      case "INFO":
        return log.info(message, meta);
      case "WARN":
        return log.warn(message, meta);
      case "ERROR":
        return log.error(message, meta);
    }
  }
  return {
    log: write,
    trace: (message, meta) => write("TRACE", message, meta),
    debug: (message, meta) => write("DEBUG", message, meta),
    info: (message, meta) => write("INFO", message, meta),
    warn: (message, meta) => write("WARN", message, meta),
    error: (message, meta) => write("ERROR", message, meta),
  };
}
