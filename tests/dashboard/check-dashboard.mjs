// Opens the dashboard in Debian's headless Chromium and checks, while the caller keeps the server
// under load, that the charts update and that the named alert shows as firing. Writes a screenshot.
// Usage: node check-dashboard.mjs BASE_URL ALERT_NAME SCREENSHOT.png [SECONDS=20]
import { chromium } from "playwright-core";

const [baseUrl, alertName, screenshot, seconds = "20"] = process.argv.slice(2);
if (!baseUrl || !alertName || !screenshot) {
  console.error("usage: node check-dashboard.mjs BASE_URL ALERT_NAME SCREENSHOT.png [SECONDS]");
  process.exit(2);
}

const timeout = Number(seconds) * 1000;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on("pageerror", error => problems.push(`page error: ${error.message}`));
  page.on("console", message => { if (message.type() === "error") problems.push(`console: ${message.text()}`); });
  await page.goto(`${baseUrl}/dashboard`);

  // Charts update: several polls drawn, and the busiest gauge's in-flight line above zero at some point.
  await page.waitForFunction(() => window.dashboard && window.dashboard.points >= 6, null, { timeout });
  await page.waitForFunction(() => Object.values(window.dashboard.latest.gauges).some(g => g.in_flight > 0), null, { timeout });
  // The latency chart reads /stats latency per policy: the loaded gauge's admitted calls are there under its name.
  await page.waitForFunction(() => Object.entries(window.dashboard.latest.latency).some(([name, l]) => name !== "" && l.samples > 0), null, { timeout });
  const canvases = await page.locator("canvas").count();
  if (canvases < 8) throw new Error(`expected 8 charts, found ${canvases} canvases`);

  // The subscriber that never reads shows as a send blocked right now, and the budget's use is read from /stats.
  await page.waitForFunction(() => window.dashboard.latest.web_sockets.longest_blocked.length > 0, null, { timeout });
  const budget = await page.evaluate(() => window.dashboard.latest.memory_budget);
  if (!(budget.limit_bytes > 0 && budget.used_bytes >= 0)) throw new Error(`the memory budget in /stats was ${JSON.stringify(budget)}`);

  // The waiting room's charts read its threshold from /stats.
  const rank = await page.evaluate(() => window.dashboard.latest.waiting_rooms?.prioritized?.threshold_rank);
  if (typeof rank !== "number" || rank < 0 || rank > 511) throw new Error(`the waiting room's threshold rank in /stats was ${rank}`);

  // The alert the caller provoked is listed as firing.
  const firing = page.locator(`#alert-list li.firing[data-alert="${alertName}"]`);
  await firing.waitFor({ timeout });
  await page.screenshot({ path: screenshot, fullPage: true });
  if (problems.length > 0) throw new Error(problems.join("\n"));
  console.log(`ok: ${await page.evaluate(() => window.dashboard.points)} polls drawn, alert ${alertName} firing, screenshot ${screenshot}`);
} finally {
  await browser.close();
}
