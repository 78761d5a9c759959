/**
 * The dashboard in a real headless Chromium (playwright-core, /usr/bin/chromium):
 * a directive submitted through the API is approved in the UI and completes,
 * showing its submitter, "1 of 1 approvals" and the decision with its reason.
 * Screenshots land in tests/output/. The browser is driven from Node
 * (tests/_dashboard_driver.mjs): see there why not from Deno.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { createHandler } from "../src/server/app.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { startLoopHarness } from "./_loop.ts";
import { testToken } from "./_api.ts";

const USER = await testToken("browser-user", ["read", "approve"]);
const TOKEN = USER.token;
// Separation of duties: whoever submits may not approve, so another principal submits.
const SUBMITTER = await testToken("browser-submitter", ["submit"]);

Deno.test({
  name: "dashboard: inbox, approve with a reason, see the directive complete with its artifact",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const h = await startLoopHarness();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      createHandler({
        sql: h.sql,
        target: h.target,
        schema: builtinSchema(),
        tokens: [USER.entry, SUBMITTER.entry],
        maxBodyBytes: 65536,
        temporalUiUrl: "http://127.0.0.1:8233",
        artifacts: h.artifacts,
      }),
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      const created = await fetch(`${base}/api/directives`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${SUBMITTER.token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify(echoDocument({
          objective: "Echo from the browser test",
          payload: { message: "seen in the browser" },
        })),
      });
      assertEquals(created.status, 201);
      const id: string = (await created.json()).directive.id;

      await Deno.mkdir("tests/output", { recursive: true });
      const driver = await new Deno.Command("node", {
        args: ["tests/_dashboard_driver.mjs", base, id, TOKEN],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      assertEquals(driver.code, 0, "the browser driver failed");
      const seen = JSON.parse(
        new TextDecoder().decode(driver.stdout).trim().split("\n").at(-1) ?? "",
      );
      assertEquals(JSON.parse(seen.preview), { message: "seen in the browser" });
      assertEquals(seen.errorHidden, true);
      assertEquals(seen.askedForToken, true, "the page asked for a token before reading");
      assertEquals(seen.quorum, "1 of 1 approvals");
      assertStringIncludes(seen.approvals, "browser-user approved: checked in the browser");
      assertEquals(seen.submittedBy, "browser-submitter");

      const [approval] = await h
        .sql`SELECT actor, reason FROM approvals WHERE directive_id = ${id}`;
      assertEquals({ ...approval }, { actor: "browser-user", reason: "checked in the browser" });
    } finally {
      await server.shutdown();
      await h.stop();
    }
  },
});
