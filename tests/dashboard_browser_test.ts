/**
 * The dashboard in a real headless Chromium (playwright-core, /usr/bin/chromium),
 * driven from Node (tests/_dashboard_driver.mjs: see there why not from Deno),
 * over known data (tests/_dashboard_seed.ts) and one directive submitted
 * through the API with a running loop:
 *
 * - the inbox, oldest first, with budget, wait and deadline; j/k select,
 *   r rejects and a approves with a reason typed in a dialog, Enter opens;
 * - the approval page: the contract, payload, module, grants, each policy
 *   rule, the deadline and the quorum; a large payload cut in the page and
 *   whole in its download;
 * - the approved directive completes; its timeline shows every phase;
 * - the overview's five charts are drawn with the seeded data;
 * - axe-core finds no serious or critical violation on any of these.
 *
 * Screenshots go to tests/output/ (ignored by git); with KEEL_SCREENSHOTS=1
 * they replace the ones in docs/screenshots/ that the README shows.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { BUILTIN_MODULES, createRegistry } from "../src/execution/mod.ts";
import { createHandler } from "../src/server/app.ts";
import { createChangeFeed } from "../src/directives/feed.ts";
import { seedOverview } from "./_dashboard_seed.ts";
import { builtinSchema, echoDocument } from "./_directives.ts";
import { startLoopHarness, testPolicy } from "./_loop.ts";
import { testToken } from "./_api.ts";

const USER = await testToken("browser-user", ["read", "approve"]);
// Separation of duties: whoever submits may not approve, so another principal submits.
const SUBMITTER = await testToken("browser-submitter", ["submit"]);
const SHOTS = Deno.env.get("KEEL_SCREENSHOTS") === "1" ? "docs/screenshots" : "tests/output";

Deno.test({
  name: "dashboard: inbox by keyboard, approval page, timeline and overview, with axe-core",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // A gate that stays open however slow the machine: the test decides within it.
    const gate = { approval_timeout_seconds: 3600 };
    const h = await startLoopHarness({ policy: gate });
    const policy = await testPolicy(gate);
    const registry = createRegistry(BUILTIN_MODULES);
    const feed = createChangeFeed(h.sql);
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
        policy,
        moduleOf: (type) => registry.find(type),
        feed,
      }),
    );
    const base = `http://127.0.0.1:${server.addr.port}`;
    try {
      const ids = await seedOverview(h.sql, policy);
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
      const live: string = (await created.json()).directive.id;

      const driver = await new Deno.Command("node", {
        args: [
          "tests/_dashboard_driver.mjs",
          base,
          USER.token,
          JSON.stringify({ ...ids, live }),
          SHOTS,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      assertEquals(driver.code, 0, "the browser driver failed");
      const seen = JSON.parse(
        new TextDecoder().decode(driver.stdout).trim().split("\n").at(-1) ?? "",
      );

      // axe-core on every page and on the reason dialog.
      assertEquals(Object.keys(seen.axe).sort(), [
        "approval page",
        "directive page",
        "inbox",
        "overview",
        "reason dialog",
      ]);
      for (const [page, result] of Object.entries(seen.axe) as [string, { bad: string[] }][]) {
        assertEquals(result.bad, [], `serious or critical axe violations on the ${page}`);
      }
      assertEquals(seen.pageErrors, []);
      assertEquals(seen.errorHidden, true);
      assertEquals(seen.askedForToken, true, "the page asked for a token before reading");

      // The inbox: oldest first, with budget, wait and deadline; keys documented.
      assertEquals(seen.inboxOrder, [ids.waiting1, ids.waiting2, live]);
      const [, type, budget, waiting, deadline, approvals] = seen.inboxFirstRow;
      assertEquals([type, budget, approvals], ["echo", "2.5000 USD", "0 of 1"]);
      assert(/\d/.test(waiting), waiting);
      assertStringIncludes(deadline, "(in ");
      assertEquals(seen.keysDocumented, ["j", "k", "Enter or o", "a", "r", "Escape"]);
      assertEquals([seen.selectedAfterJ, seen.selectedBeforeA], [ids.waiting2, live]);
      assertEquals(seen.dialogTitle, "Reject directive");
      const decisions = await h.sql<{ directive_id: string; decision: string; reason: string }[]>`
        SELECT directive_id, decision, reason FROM approvals
         WHERE actor = 'browser-user' ORDER BY decided_at`;
      assertEquals(decisions.map((d) => ({ ...d })), [
        { directive_id: ids.waiting2, decision: "rejected", reason: "not needed this week" },
        { directive_id: live, decision: "approved", reason: "checked in the browser" },
      ]);

      // The approval page, opened with Enter.
      assertEquals(seen.approvalHash, `#/d/${ids.waiting1}`);
      for (
        const part of [
          "Seeded waiting1",
          "alice@example.com",
          "agent-seed",
          "sandbox",
          "no network",
          "artifact equals payload",
          "2.5000 USD (reserved 0.0000, spent 0.0000)",
          "300 s",
        ]
      ) assertStringIncludes(seen.contract, part);
      assertEquals(JSON.parse(seen.payload), {
        message: "report waiting1",
        lines: ["alpha", "beta"],
      });
      assertEquals(seen.module, "echo");
      assertStringIncludes(seen.granted, "nothing");
      assertEquals(seen.rules.map((r: string[]) => r[0]), [
        "allowed_types",
        "budget_ceiling",
        "max_timebox",
        "required_fields",
        "scope_deny",
        "net_allow",
      ]);
      assert(seen.rules.every((r: string[]) => r[1] === "pass"));
      assertStringIncludes(seen.deadline, "left");
      assertEquals([seen.quorumWaiting, seen.decideForm], ["0 of 1 approvals", 1]);

      // A payload over 4 KiB: the page shows the first 4096 bytes; the download has it all.
      assertStringIncludes(seen.bigPayloadSize, "showing the first 4096 bytes");
      assert(seen.bigPayloadShown <= 4096 + 2, String(seen.bigPayloadShown));
      assertEquals(seen.downloadName, `payload-${ids.waiting2}.json`);
      assertEquals(seen.downloaded.lines.length, 300);

      // The approved directive completed; its timeline has every phase.
      assertEquals(JSON.parse(seen.preview), { message: "seen in the browser" });
      assertEquals(seen.quorum, "1 of 1 approvals");
      assertStringIncludes(seen.approvals, "browser-user approved: checked in the browser");
      assertEquals(seen.submittedBy, "browser-submitter");
      assertEquals(seen.timeline, ["draft", "proposed", "approved", "executing", "complete"]);
      assertEquals(seen.timelineBars, 5);
      assertStringIncludes(seen.timelineText, "complete: ");
      assertStringIncludes(
        seen.workingMemory,
        'progress{"step":3} version 1, written by attempt 1',
      );

      // The overview's charts, drawn from the seeded data (and the live directive).
      const charts = seen.charts;
      assertEquals(Object.keys(charts), [
        "chart-status",
        "chart-waits",
        "chart-runs",
        "chart-spend",
        "chart-blocks",
      ]);
      assertEquals(charts["chart-status"].lines, 6);
      assertEquals(charts["chart-status"].rows, 14);
      assertEquals(charts["chart-waits"].lines, 2);
      assert(charts["chart-waits"].points >= 1);
      assertEquals(charts["chart-blocks"].bars, [2, 1]);
      assertEquals(charts["chart-runs"].bars.length, 2); // p50 and p95 of echo
      assertEquals(charts["chart-spend"].lines, 1);
      assertEquals(seen.tiles[0], "1"); // waiting1 still waits
    } finally {
      feed.close();
      await server.shutdown();
      await h.stop();
    }
  },
});
