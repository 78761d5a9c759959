// Drives the dashboard in headless Chromium with playwright-core under Node:
// playwright-core's import-time probe of /proc/sys/fs/binfmt_misc needs
// --allow-all under Deno, which no permission set grants. Args: base id token.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, id, token] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "keel-chromium-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = browser.pages()[0] ?? await browser.newPage();
  await page.goto(`${base}/#/inbox`);
  // Reads need a token: the page asks for one instead of calling the API.
  await page.locator("#token-needed").waitFor({ timeout: 30_000 });
  const askedForToken = await page.locator("#error").isHidden();
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: "tests/output/dashboard_inbox.png", fullPage: true });
  await row.getByRole("link").click();
  await page.getByLabel("Reason (required)").fill("checked in the browser");
  await page.getByRole("button", { name: "Approve" }).click();
  await page.locator("#directive-status", { hasText: "complete" }).waitFor({ timeout: 60_000 });
  const preview = page.getByLabel("echo preview");
  await preview.waitFor({ timeout: 30_000 });
  const errorHidden = await page.locator("#error").isHidden();
  const quorum = await page.locator("#quorum").textContent();
  const approvals = await page.locator("#approvals").textContent();
  const submittedBy = await page.locator("#submitted-by").textContent();
  await page.screenshot({ path: "tests/output/dashboard_directive.png", fullPage: true });
  console.log(
    JSON.stringify({
      preview: await preview.textContent(),
      errorHidden,
      askedForToken,
      quorum,
      approvals,
      submittedBy,
    }),
  );
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
