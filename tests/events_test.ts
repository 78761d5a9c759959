/**
 * `GET /api/events`: the ledger as Server-Sent Events. A follower sees each
 * change of a directive in order; one that reconnects with Last-Event-ID gets
 * what it missed; reads need the read scope.
 */
import { assert, assertEquals } from "@std/assert";
import { type ChangeFeed, createChangeFeed } from "../src/directives/feed.ts";
import { get, post, problemOf, testToken, withApi } from "./_api.ts";
import { echoDocument } from "./_directives.ts";

interface Event {
  id: string;
  event: string;
  data: { seq: string; id: string; status: string; from: string | null };
}

/** Reads SSE events from a response body, one at a time. */
function eventReader(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<Event | "comment"> {
      while (!buffer.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += value;
      }
      const at = buffer.indexOf("\n\n");
      const block = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      const fields = Object.fromEntries(
        block.split("\n").filter((l) => !l.startsWith(":")).map((l) => {
          const i = l.indexOf(":");
          return [l.slice(0, i), l.slice(i + 1).trimStart()];
        }),
      );
      if (fields.data === undefined) return "comment";
      return { id: fields.id, event: fields.event, data: JSON.parse(fields.data) } as Event;
    },
    cancel: () => reader.cancel(),
  };
}

async function until(reader: ReturnType<typeof eventReader>, directiveId: string, status: string) {
  const seen: Event[] = [];
  while (true) {
    const event = await reader.next();
    if (event === "comment" || event.data.id !== directiveId) continue;
    seen.push(event);
    if (event.data.status === status) return seen;
  }
}

Deno.test({
  name: "events: a follower sees every change in order, resumes after Last-Event-ID, needs read",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const reader = await testToken("watcher", ["read"]);
    const agent = await testToken("agent-1", ["submit"]);
    let feed: ChangeFeed | undefined;
    await withApi((h) => {
      feed = createChangeFeed(h.sql, { intervalMs: 100 });
      return { tokens: [reader.entry, agent.entry], feed };
    }, async (base) => {
      await problemOf(await get(`${base}/api/events`), 401);
      await problemOf(await get(`${base}/api/events`, agent.token), 403);
      const bad = await problemOf(await get(`${base}/api/events?after=x1`, reader.token), 400);
      assertEquals((bad.errors as { path: string }[])[0]?.path, "Last-Event-ID");

      const stream = await get(`${base}/api/events`, reader.token);
      assertEquals(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
      const events = eventReader(stream);
      const submitted = await post(
        `${base}/api/directives`,
        echoDocument({ type: "noop", payload: {}, budget: { amount: "0.50", currency: "USD" } }),
        agent.token,
      );
      assertEquals(submitted.status, 201);
      const id = (await submitted.json()).directive.id as string;
      const seen = await until(events, id, "complete");
      assertEquals(seen.map((e) => e.data.status), [
        "draft",
        "proposed",
        "approved",
        "executing",
        "complete",
      ]);
      assertEquals(seen.map((e) => e.event), seen.map(() => "directive"));
      const seqs = seen.map((e) => BigInt(e.id));
      assert(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), "positions increase");
      await events.cancel();

      // Reconnecting after "proposed" replays exactly what came after it.
      const resumed = await fetch(`${base}/api/events`, {
        headers: { authorization: `Bearer ${reader.token}`, "last-event-id": seen[1]!.id },
      });
      const again = eventReader(resumed);
      const missed = await until(again, id, "complete");
      assertEquals(missed.map((e) => e.data.status), ["approved", "executing", "complete"]);
      await again.cancel();
      feed?.close();
    });
  },
});
