/**
 * `GET /api/events`: directive changes as Server-Sent Events, so the
 * dashboard is told of a change instead of polling. Each event is one ledger
 * row (`id:` is its position); a client that reconnects with `Last-Event-ID`
 * (or `?after=`) gets what it missed, in order.
 *
 * @module
 */
import type { ChangeFeed } from "../directives/feed.ts";
import { InputError } from "../errors/table.ts";
import type { Logger } from "../telemetry/log.ts";

/** Milliseconds between keep-alive comments, so proxies keep the stream open. */
const KEEP_ALIVE_MS = 15_000;

/** The stream of changes after the client's last event (or from now). */
export async function eventsRoute(
  feed: ChangeFeed,
  log: Logger,
  request: Request,
  url: URL,
): Promise<Response> {
  const after = request.headers.get("last-event-id") ?? url.searchParams.get("after");
  if (after !== null && !/^\d{1,18}$/.test(after)) {
    throw new InputError(`the event position "${after.slice(0, 40)}" is not a number`, [
      { path: "Last-Event-ID", message: "must be the id of an event this stream sent" },
    ]);
  }
  const subscription = await feed.subscribe(after ?? "head");
  const encoder = new TextEncoder();
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    subscription.close();
    clearInterval(keepAlive);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop(); // the client is gone
        }
      };
      send("retry: 2000\n\n");
      keepAlive = setInterval(() => send(": keep-alive\n\n"), KEEP_ALIVE_MS);
      void (async () => {
        try {
          for await (const change of subscription.changes) {
            send(`id: ${change.seq}\nevent: directive\ndata: ${JSON.stringify(change)}\n\n`);
          }
        } catch (error) {
          log.warn("change feed stopped", { error });
        } finally {
          stop();
          try {
            controller.close();
          } catch {
            // Already closed by the client.
          }
        }
      })();
    },
    // A client that goes away cancels the body: that ends the subscription.
    cancel: stop,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}
