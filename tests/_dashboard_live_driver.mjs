// Opens one directive's page in headless Chromium and reports, as JSON lines,
// when the change feed is open ({"live":"open"}) and then the status the page
// shows and what drew it, until it shows `until`. Args: base token id until.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, token, id, until] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "keel-chromium-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const page = browser.pages()[0] ?? await browser.newPage();
  await page.goto(`${base}/#/d/${id}`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
  await page.locator('main[data-live="open"]').waitFor({ timeout: 60_000 });
  await page.locator("#directive-status").waitFor({ timeout: 60_000 });
  console.log(JSON.stringify({ live: "open" }));
  // No reload from here on: the page must learn of the change by itself.
  await page.locator("#directive-status", { hasText: until }).waitFor({ timeout: 120_000 });
  const cause = await page.locator("main").getAttribute("data-cause");
  const deliveries = await page.locator("#deliveries li").allTextContents();
  console.log(JSON.stringify({ status: until, cause, deliveries }));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
