/**
 * A real OTLP/HTTP (JSON) receiver on loopback for telemetry tests: it keeps
 * every request body, and decodes spans and metric data points.
 */

/** One exported span, decoded. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly service: string;
  readonly attributes: Record<string, unknown>;
  readonly events: { name: string; attributes: Record<string, unknown> }[];
}

/** One metric data point, decoded (the latest export wins: the SDK sends cumulative sums). */
export interface ReceivedPoint {
  readonly metric: string;
  readonly attributes: Record<string, unknown>;
  /** The sum's value, or a histogram's count. */
  readonly value: number;
  /** A histogram's sum. */
  readonly sum?: number;
}

/** The receiver. */
export interface OtlpReceiver {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Every request body received, as text. */
  readonly bodies: string[];
  /** Every span received. */
  spans(): ReceivedSpan[];
  /** The latest value of each metric data point. */
  points(): ReceivedPoint[];
  /** Stops the server. */
  stop(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
};
type KeyValue = { key: string; value: AnyValue };

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ??
      (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
      value.doubleValue ?? value.boolValue;
  }
  return out;
}

/** Starts the receiver on a free loopback port. */
export function startOtlpReceiver(): OtlpReceiver {
  const bodies: string[] = [];
  const spans: ReceivedSpan[] = [];
  const points = new Map<string, ReceivedPoint>();
  // deno-lint-ignore no-explicit-any
  function takeTraces(body: any): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attributesOf(rs.resource?.attributes)["service.name"] ?? "");
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: s.name,
            startNs: BigInt(s.startTimeUnixNano),
            endNs: BigInt(s.endTimeUnixNano),
            service,
            attributes: attributesOf(s.attributes),
            // deno-lint-ignore no-explicit-any
            events: (s.events ?? []).map((e: any) => ({
              name: e.name,
              attributes: attributesOf(e.attributes),
            })),
          });
        }
      }
    }
  }
  // deno-lint-ignore no-explicit-any
  function takeMetrics(body: any): void {
    for (const rm of body.resourceMetrics ?? []) {
      const service = String(attributesOf(rm.resource?.attributes)["service.name"] ?? "");
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const dataPoints = m.sum?.dataPoints ?? m.histogram?.dataPoints ?? [];
          for (const p of dataPoints) {
            const attributes = attributesOf(p.attributes);
            const value = m.histogram ? Number(p.count) : Number(p.asInt ?? p.asDouble ?? 0);
            const key = `${service}|${m.name}|${JSON.stringify(attributes)}`;
            points.set(key, {
              metric: m.name,
              attributes,
              value,
              ...(m.histogram ? { sum: Number(p.sum ?? 0) } : {}),
            });
          }
        }
      }
    }
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const text = await req.text();
    bodies.push(text);
    const path = new URL(req.url).pathname;
    try {
      const body = JSON.parse(text);
      if (path === "/v1/traces") takeTraces(body);
      else if (path === "/v1/metrics") takeMetrics(body);
    } catch {
      return new Response("malformed", { status: 400 });
    }
    return Response.json({});
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    bodies,
    spans: () => [...spans],
    points: () => [...points.values()],
    stop: () => server.shutdown(),
  };
}

/** Sums the values of a metric's points whose attributes include `match`. */
export function metricValue(
  points: readonly ReceivedPoint[],
  metric: string,
  match: Record<string, unknown> = {},
): number {
  return points
    .filter((p) => p.metric === metric)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + p.value, 0);
}

/** Renders a trace as an indented list with durations. */
export function renderTree(spans: readonly ReceivedSpan[], traceId: string): string {
  const inTrace = spans.filter((s) => s.traceId === traceId);
  const ids = new Set(inTrace.map((s) => s.spanId));
  const lines: string[] = [];
  function walk(parent: string, depth: number): void {
    const children = inTrace
      .filter((s) => (parent === "" ? !ids.has(s.parentSpanId) : s.parentSpanId === parent))
      .sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    for (const s of children) {
      const ms = Number(s.endNs - s.startNs) / 1e6;
      lines.push(`${"  ".repeat(depth)}- ${s.name} (${ms.toFixed(1)} ms) [${s.service}]`);
      walk(s.spanId, depth + 1);
    }
  }
  walk("", 0);
  return lines.join("\n");
}
