// Loads the dashboard of a running `axoc serve` in headless Chromium and watches one run.
//
//   node tests/serve/dashboard.mjs URL UNIT AGENT SCREENSHOT.png
//
// Says `ready` once the page is up, then waits for it to pick up the run the test starts and
// draw its lattice, then for unit UNIT's
// signal to rise above 0 (an event reached it) and for agent AGENT to be drawn done. Prints one
// JSON object: what it saw, in order, and every URL the page requested. Uses puppeteer-core
// from tests/mermaid (npm ci --prefix tests/mermaid) and Debian's chromium.
import { createRequire } from "node:module";

const require = createRequire(new URL("../mermaid/package.json", import.meta.url));
const puppeteer = require("puppeteer-core");
const [url, unit, agent, screenshot] = process.argv.slice(2);
const chromium = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const seen = { requests: [], levels: [], statuses: [], errors: [] };
try {
  const page = await browser.newPage();
  page.on("request", (request) => seen.requests.push(request.url()));
  page.on("pageerror", (error) => seen.errors.push(String(error)));
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => document.querySelector("#health").textContent.includes("live run"),
                             { timeout: 30000 });
  process.stdout.write("ready\n"); // the test starts its run now
  await page.waitForSelector("#lattice svg g.node", { timeout: 30000 });
  const level = `#lattice text.level[data-unit="${unit}"]`;
  seen.levels.push(await page.$eval(level, (t) => t.textContent));
  await page.waitForFunction(
    (selector) => {
      const text = document.querySelector(selector);
      return text && !text.textContent.startsWith("0 /");
    },
    { timeout: 30000 },
    level,
  );
  seen.levels.push(await page.$eval(level, (t) => t.textContent));
  seen.fill = await page.$eval(`#lattice rect.fill[data-unit="${unit}"]`, (r) => Number(r.getAttribute("width")));
  const node = `#lattice g.node[data-agent="${agent}"]`;
  seen.statuses.push(await page.$eval(node, (g) => g.getAttribute("class")));
  await page.waitForFunction(
    (selector) => document.querySelector(selector).getAttribute("class").includes("st-done"),
    { timeout: 30000 },
    node,
  );
  seen.statuses.push(await page.$eval(node, (g) => g.getAttribute("class")));
  seen.tokens = await page.$$eval("#tokens tbody tr", (rows) => rows.map((r) => r.dataset.agent));
  seen.runs = await page.$$eval("#runs li", (items) => items.length);
  await page.screenshot({ path: screenshot });
} catch (error) {
  seen.errors.push(String(error));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(seen) + "\n");
