/**
 * One JSON POST with a timeout, classified into the provider error taxonomy.
 * Shared by the LLM and embeddings providers.
 *
 * @module
 */
import { kindOfStatus, parseRetryAfter, ProviderError, type ProviderErrorKind } from "./errors.ts";

/** How a provider reads its error bodies. */
export interface ErrorReader {
  /** Extracts the provider's error type and message from a parsed error body. */
  detail(body: unknown): { readonly type?: string; readonly message?: string };
  /** Maps the provider's error type to a kind; `undefined` falls back to the status. */
  kindOfType(type: string): ProviderErrorKind | undefined;
}

/** What {@linkcode postJson} sends. */
export interface PostJsonOptions {
  /** Request headers, including credentials; never logged or echoed. */
  readonly headers: Record<string, string>;
  /** The JSON body. */
  readonly body: unknown;
  /** Milliseconds before the call is abandoned as a `timeout`. */
  readonly timeoutMs: number;
  /** The caller's cancellation. */
  readonly signal?: AbortSignal | undefined;
  /** How error bodies are read. */
  readonly errors: ErrorReader;
}

const MAX_DETAIL = 300;

function clip(text: string): string {
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}

/**
 * POSTs `body` to `url` and returns the parsed 2xx body. Everything else is a
 * {@linkcode ProviderError}: HTTP errors by the provider's type or the status,
 * an expired timer as `timeout`, a refused connection as `network`, a 2xx body
 * that is not JSON as `malformed_response`.
 */
export async function postJson(
  provider: string,
  url: string,
  options: PostJsonOptions,
): Promise<unknown> {
  const timer = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timer, options.signal]) : timer;
  const action = `POST ${new URL(url).pathname} to ${provider}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: JSON.stringify(options.body),
      signal,
    });
    text = await response.text();
  } catch (cause) {
    if (timer.aborted) {
      throw new ProviderError(
        provider,
        "timeout",
        `${action} timed out after ${options.timeoutMs} ms`,
        { cause },
      );
    }
    if (options.signal?.aborted) throw cause;
    throw new ProviderError(
      provider,
      "network",
      `${action} failed before a response: ${(cause as Error).message}`,
      { cause },
    );
  }
  let parsed: unknown;
  let parseError: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    parseError = error;
  }
  if (response.ok) {
    if (parseError !== undefined) {
      throw new ProviderError(
        provider,
        "malformed_response",
        `${action} returned status ${response.status} with a body that is not JSON`,
        { status: response.status, cause: parseError },
      );
    }
    return parsed;
  }
  const detail = parseError === undefined ? options.errors.detail(parsed) : {};
  const kind = (detail.type && options.errors.kindOfType(detail.type)) ||
    kindOfStatus(response.status);
  const retryAfterMs = parseRetryAfter(response.headers, new Date());
  const said = detail.message ? `: ${clip(detail.message)}` : "";
  throw new ProviderError(
    provider,
    kind,
    `${action} failed with status ${response.status}${
      detail.type ? ` (${detail.type})` : ""
    }${said}`,
    {
      status: response.status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(detail.type === undefined ? {} : { providerType: detail.type }),
    },
  );
}
