/**
 * `http_request`: sends one HTTP request and stores the response body as an
 * `http_response` artifact. It shows the sandbox at work: the module runs in a
 * process of its own whose only net access is what the policy granted for the run.
 *
 * Hosts. The module declares the loopback address `127.0.0.1` only, and the
 * policy's `net_allow.http_request` narrows that further per run. A fork that
 * lets its directives reach other hosts lists them in three places: here in
 * `permissions.net`, in deno.json's `worker` permission set (`net`; the
 * registry refuses a module that declares more than the worker holds), and in its policy's `net_allow`.
 *
 * Payload:
 *
 * - `url` (required): an `http:` or `https:` URL;
 * - `method`: GET (default), HEAD, POST, PUT, PATCH or DELETE;
 * - `headers`: an object of header names to string values;
 * - `body`: a string, not allowed with GET or HEAD;
 * - `max_response_bytes`: 1 to 10485760 (default 1048576); a longer response
 *   fails the run as soon as it passes the cap.
 *
 * The request carries `Idempotency-Key` set to the run's downstream key.
 * Redirects (at most 5) are followed here, not by `fetch`, and each hop is
 * checked against the process's own grant first: a redirect to a host outside
 * it is refused.
 *
 * This file is what the sandbox runs as the module's process: keep its imports to
 * `../define.ts` and types.
 *
 * @module
 */
import { defineModule } from "../define.ts";
import type { ArtifactDraft, ModuleContext, ModuleResult } from "../module.ts";

/** The methods `http_request` sends. */
export const HTTP_REQUEST_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/** One of {@linkcode HTTP_REQUEST_METHODS}. */
export type HttpRequestMethod = typeof HTTP_REQUEST_METHODS[number];

/** Bounds and defaults of the `http_request` payload. */
export const HTTP_REQUEST_LIMITS = {
  /** The default `max_response_bytes`: 1 MiB. */
  defaultMaxResponseBytes: 1_048_576,
  /** The largest `max_response_bytes`: 10 MiB. */
  maxResponseBytes: 10_485_760,
  /** Redirects followed before the run fails. */
  maxRedirects: 5,
} as const;

const IDEMPOTENT_METHODS: readonly string[] = ["GET", "HEAD", "PUT", "DELETE"];
const REDIRECT_STATUSES: readonly number[] = [301, 302, 303, 307, 308];
/** Headers not carried to another origin on a redirect. */
const CREDENTIAL_HEADERS: readonly string[] = ["authorization", "cookie", "proxy-authorization"];
const HEARTBEAT_EVERY_MS = 250;

/** Thrown when an `http_request` payload is invalid; the message names the field. */
export class HttpRequestPayloadError extends TypeError {
  /** The payload field at fault. */
  readonly field: string;
  /** Creates the error. */
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`http_request payload: ${field} ${message}`, options);
    this.name = "HttpRequestPayloadError";
    this.field = field;
  }
}

/** Thrown when the request cannot be sent or a redirect is refused. */
export class HttpRequestError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HttpRequestError";
  }
}

/** A validated `http_request` payload. */
export interface HttpRequestSpec {
  /** The URL, http or https. */
  readonly url: URL;
  /** The method. */
  readonly method: HttpRequestMethod;
  /** Header names to values. */
  readonly headers: Readonly<Record<string, string>>;
  /** The request body, if any. */
  readonly body: string | undefined;
  /** The most response bytes read. */
  readonly maxResponseBytes: number;
}

function quote(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    const text = JSON.stringify(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return String(value);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseUrl(value: unknown): URL {
  if (value === undefined || value === null) {
    throw new HttpRequestPayloadError("url", "is required: an http or https URL");
  }
  if (typeof value !== "string") {
    throw new HttpRequestPayloadError("url", `must be a string, got ${quote(value)}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new HttpRequestPayloadError("url", `is not a URL: ${quote(value)}`, { cause });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new HttpRequestPayloadError(
      "url",
      `must use http or https, got ${quote(url.protocol.slice(0, -1))} in ${quote(value)}`,
    );
  }
  return url;
}

function parseMethod(value: unknown): HttpRequestMethod {
  if (value === undefined) return "GET";
  const method = (HTTP_REQUEST_METHODS as readonly unknown[]).includes(value)
    ? value as HttpRequestMethod
    : undefined;
  if (!method) {
    throw new HttpRequestPayloadError(
      "method",
      `must be one of ${HTTP_REQUEST_METHODS.join(", ")}, got ${quote(value)}`,
    );
  }
  return method;
}

function parseHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    throw new HttpRequestPayloadError(
      "headers",
      `must be an object of header names to strings, got ${quote(value)}`,
    );
  }
  const headers: Record<string, string> = {};
  for (const [name, item] of Object.entries(value)) {
    const field = `headers.${name}`;
    if (typeof item !== "string") {
      throw new HttpRequestPayloadError(field, `must be a string, got ${quote(item)}`);
    }
    try {
      new Headers([[name, item]]);
    } catch (cause) {
      throw new HttpRequestPayloadError(
        field,
        `is not a valid header: ${quote(name)}: ${quote(item)}`,
        { cause },
      );
    }
    headers[name] = item;
  }
  return headers;
}

function parseMaxBytes(value: unknown): number {
  if (value === undefined) return HTTP_REQUEST_LIMITS.defaultMaxResponseBytes;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < 1 ||
    value > HTTP_REQUEST_LIMITS.maxResponseBytes
  ) {
    throw new HttpRequestPayloadError(
      "max_response_bytes",
      `must be a whole number from 1 to ${HTTP_REQUEST_LIMITS.maxResponseBytes}, got ${
        quote(value)
      }`,
    );
  }
  return value;
}

/**
 * Validates an `http_request` payload.
 *
 * @throws {HttpRequestPayloadError} naming the first bad field and quoting its value.
 */
export function parseHttpRequestPayload(
  payload: Readonly<Record<string, unknown>>,
): HttpRequestSpec {
  const url = parseUrl(payload.url);
  const method = parseMethod(payload.method);
  const headers = parseHeaders(payload.headers);
  const body = payload.body;
  if (body !== undefined && typeof body !== "string") {
    throw new HttpRequestPayloadError("body", `must be a string, got ${quote(body)}`);
  }
  if (body !== undefined && (method === "GET" || method === "HEAD")) {
    throw new HttpRequestPayloadError("body", `is not allowed with method ${method}`);
  }
  const maxResponseBytes = parseMaxBytes(payload.max_response_bytes);
  return { url, method, headers, body, maxResponseBytes };
}

/** The `host:port` a URL reaches (port 80 or 443 when the URL has none). */
export function hostPortOf(url: URL): string {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

function targetsOf(payload: Readonly<Record<string, unknown>>): string[] {
  try {
    return [hostPortOf(parseUrl(payload.url))];
  } catch {
    return [];
  }
}

function retrySafeFor(payload: Readonly<Record<string, unknown>>): boolean {
  const method = payload.method === undefined ? "GET" : payload.method;
  return typeof method === "string" && IDEMPOTENT_METHODS.includes(method);
}

async function granted(hostPort: string): Promise<boolean> {
  const status = await Deno.permissions.query({ name: "net", host: hostPort });
  return status.state === "granted";
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The method and body for the next hop, as browsers do: 303 (and 301/302 after POST) become GET. */
function redirected(
  status: number,
  method: HttpRequestMethod,
  body: string | undefined,
): { method: HttpRequestMethod; body: string | undefined } {
  if (status === 303 && method !== "HEAD") return { method: "GET", body: undefined };
  if ((status === 301 || status === 302) && method === "POST") {
    return { method: "GET", body: undefined };
  }
  return { method, body };
}

type BodyRead =
  | { readonly kind: "body"; readonly body: Uint8Array }
  | { readonly kind: "over"; readonly bytes: number; readonly declared: boolean };

/** Reads a response body, stopping as soon as it passes `max` bytes. */
async function readCapped(
  response: Response,
  max: number,
  context: ModuleContext,
): Promise<BodyRead> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    return { kind: "over", bytes: declared, declared: true };
  }
  if (!response.body) return { kind: "body", body: new Uint8Array() };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let lastBeat = performance.now();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return { kind: "over", bytes: total, declared: false };
    }
    chunks.push(value);
    if (performance.now() - lastBeat >= HEARTBEAT_EVERY_MS) {
      lastBeat = performance.now();
      context.heartbeat({ bytes: total });
    }
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { kind: "body", body };
}

function failure(message: string, result: unknown): ModuleResult {
  return { status: "FAILURE", result, message, artifacts: [], budgetConsumed: "0" };
}

/**
 * Sends one HTTP request (see the module documentation above for the
 * payload). SUCCESS for a 2xx answer, with the body as an `http_response`
 * artifact; FAILURE for any other status or a body over the cap; an error
 * when the host cannot be reached or a redirect leaves the granted hosts.
 */
export const httpRequestModule = defineModule({
  type: "http_request",
  entry: import.meta.url,
  description:
    "sends one HTTP request to a granted host and stores the response body as an artifact",
  permissions: { net: ["127.0.0.1"] },
  retrySafe: retrySafeFor,
  worstCase: "0",
  targets: targetsOf,
  async execute(input, context): Promise<ModuleResult> {
    const spec = parseHttpRequestPayload(input.payload);
    let url = spec.url;
    let method = spec.method;
    let body = spec.body;
    const headers = new Headers(spec.headers);
    headers.set("Idempotency-Key", input.idempotencyKey);
    for (let hop = 0;; hop++) {
      const target = hostPortOf(url);
      if (hop > 0 && !(await granted(target))) {
        throw new HttpRequestError(
          `http_request refused the redirect to "${target}" (${url.href}): ` +
            `it is outside the allow-list granted to this run`,
        );
      }
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers,
          body: body ?? null,
          redirect: "manual",
          signal: context.signal,
        });
      } catch (cause) {
        throw new HttpRequestError(
          `http_request could not reach "${target}": ${errorText(cause)}`,
          { cause },
        );
      }
      context.heartbeat({ status: response.status, url: url.href });
      const location = response.headers.get("location");
      if (REDIRECT_STATUSES.includes(response.status) && location !== null) {
        await response.body?.cancel();
        if (hop >= HTTP_REQUEST_LIMITS.maxRedirects) {
          return failure(
            `http_request gave up after ${HTTP_REQUEST_LIMITS.maxRedirects} redirects ` +
              `(the last, from ${url.href}, to ${quote(location)})`,
            { status: response.status, url: url.href },
          );
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch (cause) {
          throw new HttpRequestError(
            `http_request cannot follow the redirect from ${url.href} to ${quote(location)}: ` +
              `it is not a URL`,
            { cause },
          );
        }
        if (next.protocol !== "http:" && next.protocol !== "https:") {
          throw new HttpRequestError(
            `http_request refused the redirect from ${url.href} to ${quote(next.href)}: ` +
              `only http and https are followed`,
          );
        }
        if (next.origin !== url.origin) {
          for (const name of CREDENTIAL_HEADERS) headers.delete(name);
        }
        ({ method, body } = redirected(response.status, method, body));
        if (body === undefined) headers.delete("content-type");
        url = next;
        continue;
      }
      const where = { status: response.status, url: url.href };
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel();
        return failure(
          `${method} ${url.href} answered HTTP ${response.status}${
            response.statusText ? ` ${response.statusText}` : ""
          }`,
          where,
        );
      }
      const read = await readCapped(response, spec.maxResponseBytes, context);
      if (read.kind === "over") {
        return failure(
          `the response from ${url.href} is larger than max_response_bytes ` +
            `(${spec.maxResponseBytes} bytes): ${
              read.declared
                ? `it declares ${read.bytes} bytes`
                : `stopped after ${read.bytes} bytes`
            }`,
          where,
        );
      }
      const artifact: ArtifactDraft = {
        kind: "http_response",
        contentType: response.headers.get("content-type") ?? "application/octet-stream",
        body: read.body,
      };
      return {
        status: "SUCCESS",
        result: { ...where, bytes: read.body.byteLength },
        message: `${method} ${url.href} answered HTTP ${response.status} ` +
          `with ${read.body.byteLength} bytes`,
        artifacts: [artifact],
        budgetConsumed: "0",
      };
    }
  },
});
