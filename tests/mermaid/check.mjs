// Parse and render Mermaid files with the real Mermaid library, in headless Chromium.
//
//   node check.mjs [--png-dir DIR] [--svg-dir DIR] [--fail-on-overlap] FILE...
//
// One browser for all files. For each file: mermaid.parse (Mermaid's own parser), then
// mermaid.render (layout and SVG), then checks on the drawing: every double-quoted label of the
// source shows up as the text of a node, subgraph or edge label, and (a warning unless
// --fail-on-overlap) no node or edge label overlaps another; an empty diagram is a warning.
// Prints one line per file (`ok   FILE (…)` or `FAIL FILE` and Mermaid's own error message),
// exits 1 if any file fails, 2 on a usage or setup error. --png-dir/--svg-dir keep the drawings.
//
// The browser: $CHROMIUM_PATH, else $PUPPETEER_EXECUTABLE_PATH, else /usr/bin/chromium
// (Debian: apt-get install -y chromium). Mermaid is loaded from node_modules: nothing is fetched.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function usage(message) {
  process.stderr.write(`check.mjs: ${message}\n`);
  process.stderr.write(
    "usage: node check.mjs [--png-dir DIR] [--svg-dir DIR] [--fail-on-overlap] FILE...\n",
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const files = [];
let pngDir = null;
let svgDir = null;
let failOnOverlap = false;
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === "--png-dir" || arg === "--svg-dir") {
    if (i + 1 >= args.length) usage(`${arg} needs a directory`);
    if (arg === "--png-dir") pngDir = args[++i];
    else svgDir = args[++i];
  } else if (arg === "--fail-on-overlap") {
    failOnOverlap = true;
  } else if (arg.startsWith("--")) {
    usage(`unknown option ${arg}`);
  } else {
    files.push(arg);
  }
}
if (files.length === 0) usage("no files given");

let puppeteer;
let mermaidJs;
try {
  puppeteer = (await import("puppeteer-core")).default;
  mermaidJs = require.resolve("mermaid/dist/mermaid.min.js");
} catch (err) {
  process.stderr.write(
    `check.mjs: ${err.message}\nInstall the checker's packages first: npm ci --prefix tests/mermaid\n`,
  );
  process.exit(2);
}

const chromium =
  process.env.CHROMIUM_PATH || process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium";
if (!existsSync(chromium)) {
  process.stderr.write(
    `check.mjs: no browser at ${chromium}: apt-get install -y chromium ` +
      "(or set CHROMIUM_PATH)\n",
  );
  process.exit(2);
}
for (const dir of [pngDir, svgDir]) if (dir) mkdirSync(dir, { recursive: true });

// Collect every double-quoted label of the source, as the drawing should show it: node labels
// `id["text"]`, `id(["text"])` and edge labels `-->|"text"|`, with <br/> as a line break.
function sourceLabels(text) {
  const labels = [];
  for (const match of text.matchAll(/"([^"]*)"/g)) labels.push(match[1]);
  return labels.map(normalize);
}

function normalize(label) {
  return label.replace(/<br\s*\/?>/gi, "\n").replace(/\s+/g, " ").trim();
}

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
  ],
});

let failed = 0;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1600, height: 1200, deviceScaleFactor: 2 });
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.setContent(
    '<!doctype html><html><head><meta charset="utf-8"></head>' +
      '<body style="margin:0;background:white"><div id="out" style="display:inline-block;padding:16px"></div></body></html>',
  );
  await page.addScriptTag({ path: mermaidJs });
  await page.evaluate(() => {
    // The settings GitHub's renderer leaves at Mermaid's defaults; strict is its security level.
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  });
  const version = require("mermaid/package.json").version;
  process.stdout.write(`mermaid ${version}, ${await browser.version()}\n`);

  for (const [index, file] of files.entries()) {
    const name = basename(file);
    const text = readFileSync(file, "utf8");
    pageErrors.length = 0;
    const result = !text.trim()
      ? { stage: "read", error: "the file is empty" }
      : await page.evaluate(
      async (text, id) => {
        const out = document.getElementById("out");
        out.innerHTML = "";
        try {
          await window.mermaid.parse(text);
        } catch (err) {
          return { stage: "parse", error: String(err && err.message ? err.message : err) };
        }
        let svg;
        try {
          ({ svg } = await window.mermaid.render(id, text));
        } catch (err) {
          return { stage: "render", error: String(err && err.message ? err.message : err) };
        }
        out.innerHTML = svg;
        const root = out.querySelector("svg");
        // Mermaid draws at 100% width up to the diagram's own size; show it at its own size.
        const viewBox = root.viewBox.baseVal;
        root.style.maxWidth = "none";
        root.setAttribute("width", String(viewBox.width));
        root.setAttribute("height", String(viewBox.height));
        const textOf = (el) => {
          // A <br> inside an HTML label is a line break; SVG <tspan> rows are lines too.
          const clone = el.cloneNode(true);
          clone.querySelectorAll("br").forEach((br) => br.replaceWith("\n"));
          const rows = clone.querySelectorAll("tspan.text-outer-tspan, tspan[class='row']");
          if (rows.length) return [...rows].map((r) => r.textContent).join("\n");
          return clone.textContent;
        };
        const box = (el) => {
          const r = el.getBoundingClientRect();
          return { x: r.left, y: r.top, w: r.width, h: r.height };
        };
        const nodes = [...root.querySelectorAll("g.node")].map((el) => ({
          kind: "node",
          text: textOf(el.querySelector(".label") || el),
          box: box(el),
        }));
        const edgeLabels = [...root.querySelectorAll("g.edgeLabel")]
          .map((el) => ({ kind: "edge label", text: textOf(el), box: box(el) }))
          .filter((l) => l.text.trim() && l.box.w > 0);
        const clusters = [...root.querySelectorAll("g.cluster")].map((el) => ({
          kind: "subgraph",
          text: textOf(el.querySelector(".cluster-label") || el),
        }));
        return {
          svg: root.outerHTML,
          errorSvg: root.getAttribute("aria-roledescription") === "error" || /Syntax error in text/.test(root.textContent),
          nodes,
          edgeLabels,
          clusters,
          edges: root.querySelectorAll("path.flowchart-link, .edgePaths path").length,
        };
      },
      text,
      `diagram${index}`,
    );

    const problems = [];
    const warnings = [];
    if (result.error) {
      problems.push(`${result.stage} error: ${result.error}`);
    } else {
      if (result.errorSvg) problems.push("render produced Mermaid's error diagram");
      if (result.nodes.length === 0) warnings.push("the diagram is empty: no nodes drawn");
      const shown = new Set(
        [...result.nodes, ...result.edgeLabels, ...result.clusters].map((l) => normalize(l.text)),
      );
      for (const label of sourceLabels(text)) {
        if (!shown.has(label)) problems.push(`label ${JSON.stringify(label)} is not drawn`);
      }
      const boxes = [...result.nodes, ...result.edgeLabels];
      const slack = 1; // px: shapes that merely touch are fine
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i].box;
          const b = boxes[j].box;
          const dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
          const dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
          if (dx > slack && dy > slack) {
            const show = (l) => `${l.kind} ${JSON.stringify(normalize(l.text))}`;
            warnings.push(`${show(boxes[i])} overlaps ${show(boxes[j])}`);
          }
        }
      }
      if (failOnOverlap) problems.push(...warnings.splice(0));
      if (svgDir) writeFileSync(join(svgDir, `${name}.svg`), result.svg);
      if (pngDir) {
        const element = await page.$("#out");
        await element.screenshot({ path: join(pngDir, `${name}.png`) });
      }
    }
    problems.push(...pageErrors.map((m) => `page error: ${m}`));

    if (problems.length) {
      failed++;
      process.stdout.write(`FAIL ${file}\n`);
      for (const p of problems) process.stdout.write(`  ${p.replace(/\n/g, "\n  ")}\n`);
    } else {
      const summary = `${result.nodes.length} nodes, ${result.edges} edges`;
      process.stdout.write(`ok   ${file} (${summary})\n`);
    }
    for (const w of warnings) process.stdout.write(`  warning: ${w}\n`);
  }
} finally {
  await browser.close();
}

process.stdout.write(`checked ${files.length} files: ${files.length - failed} ok, ${failed} with problems\n`);
process.exit(failed ? 1 : 0);
