/**
 * The bounded error taxonomy every model provider maps its failures into, so
 * callers decide on retries from one flag and never parse provider text.
 *
 * @module
 */

/** Every kind of provider failure Keel distinguishes. */
export const PROVIDER_ERROR_KINDS = [
  "disabled",
  "invalid_request",
  "authentication",
  "permission",
  "not_found",
  "rate_limited",
  "overloaded",
  "server_error",
  "timeout",
  "network",
  "malformed_response",
] as const;

/** One kind of provider failure. */
export type ProviderErrorKind = typeof PROVIDER_ERROR_KINDS[number];

/**
 * Whether a kind is worth retrying. A malformed 200 response is not: the
 * provider may already have billed the call, and a retry would pay again.
 */
export const RETRYABLE: Readonly<Record<ProviderErrorKind, boolean>> = {
  disabled: false,
  invalid_request: false,
  authentication: false,
  permission: false,
  not_found: false,
  rate_limited: true,
  overloaded: true,
  server_error: true,
  timeout: true,
  network: true,
  malformed_response: false,
};

/** What {@linkcode ProviderError} carries beside its message. */
export interface ProviderErrorOptions extends ErrorOptions {
  /** The HTTP status, when a response arrived. */
  readonly status?: number;
  /** How long the provider asked us to wait, from `retry-after`. */
  readonly retryAfterMs?: number;
  /** The provider's own error type, e.g. `rate_limit_error`. */
  readonly providerType?: string;
}

/** A failed provider call, classified. Messages never contain keys or bodies. */
export class ProviderError extends Error {
  /** The provider, e.g. `anthropic`. */
  readonly provider: string;
  /** The classified kind. */
  readonly kind: ProviderErrorKind;
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;
  /** The HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** How long the provider asked us to wait, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** The provider's own error type. */
  readonly providerType: string | undefined;

  /** Creates the error; `retryable` follows from `kind`. */
  constructor(
    provider: string,
    kind: ProviderErrorKind,
    message: string,
    options: ProviderErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProviderError";
    this.provider = provider;
    this.kind = kind;
    this.retryable = RETRYABLE[kind];
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.providerType = options.providerType;
  }
}

/** The kind an HTTP error status maps to when the body says nothing more precise. */
export function kindOfStatus(status: number): ProviderErrorKind {
  if (status === 401) return "authentication";
  if (status === 403) return "permission";
  if (status === 404) return "not_found";
  if (status === 408) return "timeout";
  if (status === 429) return "rate_limited";
  if (status === 503 || status === 529) return "overloaded";
  if (status >= 500) return "server_error";
  return "invalid_request";
}

/**
 * Reads `retry-after` (seconds or an HTTP date) or `retry-after-ms`, in
 * milliseconds; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(headers: Headers, now: Date): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now.getTime());
}
