// Drives the dashboard in headless Chromium with playwright-core under Node:
// playwright-core's import-time probe of /proc/sys/fs/binfmt_misc needs
// --allow-all under Deno, which no permission set grants. Each page is
// checked with axe-core (@axe-core/playwright). Args: base token ids-json
// screenshot-dir. Prints one JSON line of what it saw.
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, token, idsJson, shots] = process.argv.slice(2);
const ids = JSON.parse(idsJson);
const seen = { axe: {} };
const profile = mkdtempSync(join(tmpdir(), "keel-chromium-"));
mkdirSync(shots, { recursive: true });
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  acceptDownloads: true,
  headless: true,
  viewport: { width: 1280, height: 900 },
  locale: "en-GB",
  timezoneId: "UTC",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--font-render-hinting=none",
  ],
});

/** Serious and critical axe violations on the page, as "rule: target" lines. */
async function axe(page, name) {
  const result = await new AxeBuilder({ page }).analyze();
  seen.axe[name] = {
    passes: result.passes.length,
    bad: result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(" ")}`)),
  };
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

const text = (page, selector) => page.locator(selector).first().textContent();

try {
  const page = browser.pages()[0] ?? await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("response", (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));

  // The inbox, before a token: the page asks for one instead of calling the API.
  await page.goto(`${base}/#/inbox`);
  await page.locator("#token-needed").waitFor({ timeout: 30_000 });
  seen.askedForToken = await page.locator("#error").isHidden();
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
  await page.locator(`#row-${ids.live}`).waitFor({ timeout: 30_000 });
  seen.inboxOrder = await page.locator("#inbox tbody tr").evaluateAll((rows) =>
    rows.map((r) => r.dataset.id)
  );
  seen.inboxFirstRow = await page.locator("#inbox tbody tr").first().locator("td")
    .allTextContents();
  seen.keysDocumented = await page.locator(".keys kbd").allTextContents();
  await axe(page, "inbox");
  await shot(page, "dashboard_inbox");

  // A payload larger than the page shows: cut, and whole in the download.
  await page.goto(`${base}/#/d/${ids.waiting2}`);
  await page.locator("#payload").waitFor({ timeout: 30_000 });
  seen.bigPayloadSize = await text(page, "#payload-size");
  seen.bigPayloadShown = (await text(page, "#payload")).length;
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download the full payload" }).click(),
  ]);
  seen.downloadName = download.suggestedFilename();
  seen.downloaded = JSON.parse(readFileSync(await download.path(), "utf8"));
  await page.goto(`${base}/#/inbox`);
  await page.locator(`#row-${ids.live}`).waitFor({ timeout: 30_000 });

  // The keyboard: j to the second row, r rejects it with a reason.
  await page.locator("#inbox tr[aria-current=true]").focus();
  await page.keyboard.press("j");
  seen.selectedAfterJ = await page.locator("#inbox tr[aria-current=true]").getAttribute("data-id");
  await page.keyboard.press("r");
  await page.locator("#decision-dialog[open]").waitFor();
  seen.dialogTitle = await text(page, "#decision-title");
  await axe(page, "reason dialog");
  await page.keyboard.type("not needed this week");
  await page.keyboard.press("Enter");
  await page.locator(`#row-${ids.waiting2}`).waitFor({ state: "detached", timeout: 30_000 });
  // Down to the live directive, then a approves it with a reason.
  await page.locator(`#row-${ids.live}`).waitFor();
  await page.keyboard.press("j");
  await page.keyboard.press("j");
  await page.keyboard.press("k");
  await page.keyboard.press("j");
  seen.selectedBeforeA = await page.locator("#inbox tr[aria-current=true]").getAttribute("data-id");
  await page.keyboard.press("a");
  await page.locator("#decision-dialog[open]").waitFor();
  await page.getByLabel("Reason (required)").fill("checked in the browser");
  await page.keyboard.press("Enter");
  await page.locator(`#row-${ids.live}`).waitFor({ state: "detached", timeout: 30_000 });

  // Enter opens the selected (first) directive: the approval page.
  await page.locator(`#row-${ids.waiting1}`).focus();
  await page.keyboard.press("Enter");
  await page.locator("#contract").waitFor({ timeout: 30_000 });
  seen.approvalHash = new URL(page.url()).hash;
  seen.contract = await text(page, "#contract");
  seen.payload = await text(page, "#payload");
  seen.module = await text(page, "#module-type");
  seen.granted = await text(page, "#granted");
  seen.rules = await page.locator("#rules tbody tr").evaluateAll((rows) =>
    rows.map((r) => [r.dataset.rule, r.querySelector("td")?.textContent])
  );
  seen.deadline = await text(page, "#deadline");
  seen.quorumWaiting = await text(page, "#quorum");
  seen.decideForm = await page.locator("#decide").count();
  await axe(page, "approval page");
  await shot(page, "dashboard_approval");

  // The live directive, approved above, completes: its timeline and artifact.
  await page.goto(`${base}/#/d/${ids.live}`);
  await page.locator("#directive-status", { hasText: "complete" }).waitFor({ timeout: 60_000 });
  await page.getByLabel("echo preview").waitFor({ timeout: 30_000 });
  seen.preview = await page.getByLabel("echo preview").textContent();
  seen.quorum = await text(page, "#quorum");
  seen.approvals = await text(page, "#approvals");
  seen.submittedBy = await text(page, "#submitted-by");
  seen.timeline = await page.locator("#timeline li").evaluateAll((items) =>
    items.map((li) => li.dataset.status)
  );
  seen.timelineBars = await page.locator("svg.timeline rect").count();
  seen.timelineText = await text(page, "#timeline");
  await axe(page, "directive page");
  await shot(page, "dashboard_directive");

  // A seeded run left a value in its directive's working memory.
  await page.goto(`${base}/#/d/${ids.done1}`);
  await page.locator("#working-memory dt").first().waitFor();
  seen.workingMemory = await text(page, "#working-memory");

  // The overview: five charts drawn from the aggregates.
  await page.goto(`${base}/#/overview?days=14`);
  await page.locator("#chart-blocks svg").waitFor({ timeout: 30_000 });
  seen.charts = await page.locator("figure.chart").evaluateAll((figures) =>
    Object.fromEntries(figures.map((f) => [f.id, {
      lines: f.querySelectorAll("svg polyline").length,
      points: f.querySelectorAll("svg circle").length,
      bars: [...f.querySelectorAll("svg rect[data-value]")].map((r) => Number(r.dataset.value)),
      rows: f.querySelectorAll("table.data tbody tr").length,
      label: f.querySelector("svg title")?.textContent ?? "",
    }]))
  );
  seen.tiles = await page.locator(".tile-value").allTextContents();
  await axe(page, "overview");
  await shot(page, "dashboard_overview");

  seen.errorHidden = await page.locator("#error").isHidden();
  seen.pageErrors = errors;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
