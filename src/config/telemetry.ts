/**
 * The OpenTelemetry section (the standard `OTEL_*` variables) and its parser.
 *
 * @module
 */
import { z } from "zod";
import { envSection, type EnvSnapshot, envVar, httpUrl, namesOf, parseSections } from "./_env.ts";

const samplers = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/** The `OTEL_*` variables Keel reads. */
export const TELEMETRY_SECTION = envSection({
  title: "Telemetry",
  vars: {
    OTEL_EXPORTER_OTLP_ENDPOINT: envVar(httpUrl, {
      description:
        "OTLP/HTTP base URL (e.g. http://127.0.0.1:4318); unset: no telemetry is exported.",
    }),
    OTEL_SERVICE_NAME: envVar(z.string().min(1).max(200), {
      description: "service.name on every span and metric (default: the process, e.g. " +
        "keel-worker).",
    }),
    OTEL_RESOURCE_ATTRIBUTES: envVar(z.string().max(4000), {
      description: "Extra resource attributes, key=value pairs separated by commas.",
    }),
    OTEL_TRACES_SAMPLER: envVar(z.enum(samplers), {
      default: "parentbased_always_on",
      description: "always_on, always_off, traceidratio, parentbased_always_on, " +
        "parentbased_always_off or parentbased_traceidratio.",
    }),
    OTEL_TRACES_SAMPLER_ARG: envVar(z.coerce.number().min(0).max(1), {
      default: "1",
      description: "Ratio for the traceidratio samplers, 0..1.",
    }),
    OTEL_METRIC_EXPORT_INTERVAL: envVar(z.coerce.number().int().min(100).max(3_600_000), {
      default: "60000",
      description: "Milliseconds between metric exports.",
    }),
  },
});

/** OpenTelemetry settings, from the standard `OTEL_*` variables. */
export interface TelemetryConfig {
  /** OTLP/HTTP base URL; absent: nothing is exported. */
  readonly endpoint?: string;
  /** service.name. */
  readonly serviceName: string;
  /** Extra resource attributes. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** The sampler's name. */
  readonly sampler: (typeof samplers)[number];
  /** The ratio for ratio samplers. */
  readonly samplerRatio: number;
  /** Milliseconds between metric exports. */
  readonly metricIntervalMs: number;
}

/** The variables {@linkcode parseTelemetryConfig} reads. */
export const TELEMETRY_ENV: readonly string[] = namesOf(TELEMETRY_SECTION);

/** Parses the `OTEL_*` variables; `service` names the process when OTEL_SERVICE_NAME is unset. */
export function parseTelemetryConfig(env: EnvSnapshot, service: string): TelemetryConfig {
  const parsed = parseSections(env, TELEMETRY_SECTION);
  const resourceAttributes: Record<string, string> = {};
  for (const pair of (parsed.OTEL_RESOURCE_ATTRIBUTES ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    resourceAttributes[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(
      pair.slice(at + 1).trim(),
    );
  }
  return {
    ...(parsed.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? {}
      : { endpoint: parsed.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "") }),
    serviceName: parsed.OTEL_SERVICE_NAME ?? service,
    resourceAttributes,
    sampler: parsed.OTEL_TRACES_SAMPLER,
    samplerRatio: parsed.OTEL_TRACES_SAMPLER_ARG,
    metricIntervalMs: parsed.OTEL_METRIC_EXPORT_INTERVAL,
  };
}
