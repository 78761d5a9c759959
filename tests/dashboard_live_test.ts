/**
 * The dashboard's live view in headless Chromium: with a directive's page
 * open and the change feed connected, an approval made through the API
 * redraws the page by itself, drawn by the feed's event rather than by a
 * poll (the page polls only every 30 s while the feed is open); the page
 * lists the directive's webhook deliveries.
 */
import { assertEquals } from "@std/assert";
import { type ChangeFeed, createChangeFeed } from "../src/directives/feed.ts";
import { post, testToken, withApi } from "./_api.ts";
import { echoDocument } from "./_directives.ts";

Deno.test({
  name: "dashboard: an approval through the API appears on an open page, pushed by the feed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const viewer = await testToken("viewer", ["read"]);
    const submitter = await testToken("submitter", ["submit"]);
    const approver = await testToken("approver", ["approve"]);
    let feed: ChangeFeed | undefined;
    await withApi((h) => {
      feed = createChangeFeed(h.sql);
      return {
        tokens: [viewer.entry, submitter.entry, approver.entry],
        feed,
        maxBodyBytes: 65536,
      };
    }, async (base) => {
      const created = await post(
        `${base}/api/directives`,
        echoDocument({ objective: "Watched live" }),
        submitter.token,
      );
      assertEquals(created.status, 201);
      const id = (await created.json()).directive.id as string;
      const driver = new Deno.Command("node", {
        args: ["tests/_dashboard_live_driver.mjs", base, viewer.token, id, "complete"],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const lines = driver.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      const nextLine = async () => {
        while (!buffer.includes("\n")) {
          const { value, done } = await lines.read();
          if (done) throw new Error(`the driver ended: ${buffer}`);
          buffer += value;
        }
        const at = buffer.indexOf("\n");
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        return JSON.parse(line);
      };
      try {
        assertEquals(await nextLine(), { live: "open" });
        const approved = await post(
          `${base}/api/directives/${id}/approve`,
          { reason: "seen live" },
          approver.token,
        );
        assertEquals(approved.status, 200, await approved.text());
        const seen = await nextLine();
        assertEquals([seen.status, seen.cause], ["complete", "event"]);
        assertEquals(seen.deliveries, ["no webhook deliveries"]);
      } finally {
        await lines.cancel();
        await driver.status;
        feed?.close();
      }
    });
  },
});
