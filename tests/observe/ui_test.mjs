// torvyn run --ui, in a real headless browser: Debian's Chromium driven by
// playwright-core (installed by scripts/setup.sh into $TORVYN_TOOLS_DIR/js;
// it never downloads a browser of its own).
//
//   node ui_test.mjs TORVYN TMP_DIR COMPONENT_DIR...
//
// Runs tests/observe/live.toml with --metrics and --ui on the same loopback
// address (one server), opens the page, and checks: the graph shows every
// node and edge; the totals and each node's calls increase between two reads
// 2 s apart; the failed calls of the erring node are listed as they happen;
// the page asked for nothing but its own server. Saves TMP_DIR/live.png.
// torvyn and Chromium are stopped by their pids.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const [torvyn, tmp, ...components] = process.argv.slice(2);
const tools = process.env.TORVYN_JS_TOOLS ||
  path.join(process.env.TORVYN_TOOLS_DIR || path.join(process.env.HOME, ".cache/torvyn/tools"), "js");
const chromiumPath = "/usr/bin/chromium";
const NODES = ["src", "picky", "copy", "out"];
const EDGES = ["src -> picky", "src -> copy", "picky -> out", "copy -> out"];

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

let playwright;
try {
  playwright = createRequire(path.join(tools, "package.json"))("playwright-core");
} catch (e) {
  fail(`playwright-core is missing in ${tools}: run scripts/setup.sh (${e.message})`);
}
if (!fs.existsSync(chromiumPath)) fail(`${chromiumPath} is missing: run scripts/setup.sh (Debian package chromium)`);

fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(tmp, { recursive: true });

// torvyn run, and the address it printed once the flow is linked.
const args = ["run", path.join(here, "live.toml"), "--metrics", "127.0.0.1:0", "--ui", "127.0.0.1:0"];
for (const d of components) args.push("-L", d);
const run = spawn(torvyn, args, {
  env: { ...process.env, TORVYN_COMPONENT_PATH: "", XDG_CACHE_HOME: path.join(tmp, "cache") },
  stdio: ["ignore", fs.openSync(path.join(tmp, "torvyn.stdout"), "w"), "pipe"],
});
let stderr = "";
let exited = null;
run.on("exit", (code, signal) => { exited = { code, signal }; });
const url = await new Promise((resolve, reject) => {
  run.on("error", reject);
  const timer = setTimeout(() => reject(new Error(`no live page address within 120 s:\n${stderr}`)), 120000);
  run.stderr.on("data", (chunk) => {
    stderr += chunk;
    const m = /torvyn: live page at (http:\/\/\S+)/.exec(stderr);
    if (m) { clearTimeout(timer); resolve(m[1]); }
  });
  run.on("exit", () => reject(new Error(`torvyn exited early:\n${stderr}`)));
}).catch((e) => { run.kill("SIGKILL"); fail(e.message); });
let context = null;
const started = Date.now();
try {
  const metrics = /torvyn: metrics at (http:\/\/[^/\s]+)\/metrics/.exec(stderr);
  if (!metrics || metrics[1] !== new URL(url).origin) {
    fail(`--metrics and --ui on the same address should be one server:\n${stderr}`);
  }
  // A fresh profile each run; Playwright passes it as --user-data-dir.
  context = await playwright.chromium.launchPersistentContext(
    fs.mkdtempSync(path.join(tmp, "chromium-profile-")), {
      executablePath: chromiumPath,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 1000 },
      timeout: 60000,
    });
  const page = await context.newPage();
  const origin = new URL(url).origin;
  const foreign = [];
  page.on("request", (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url, { timeout: 30000 });
  if (await page.title() !== "Torvyn live") fail(`title: ${await page.title()}`);
  await page.waitForSelector("svg#graph g.node", { timeout: 10000 });

  const shown = await page.$$eval("svg#graph g.node", (gs) => gs.map((g) => g.dataset.node));
  if (JSON.stringify([...shown].sort()) !== JSON.stringify([...NODES].sort())) {
    fail(`the graph shows nodes ${shown}, not ${NODES}`);
  }
  const edges = await page.$$eval("svg#graph g.edge", (gs) => gs.map((g) => g.dataset.edge));
  if (JSON.stringify([...edges].sort()) !== JSON.stringify([...EDGES].sort())) {
    fail(`the graph shows edges ${edges}, not ${EDGES}`);
  }
  // Nodes by topological layer: src left of picky and copy, out right of both.
  const x = Object.fromEntries(await page.$$eval("svg#graph g.node", (gs) =>
    gs.map((g) => [g.dataset.node, g.getBoundingClientRect().x])));
  if (!(x.src < x.picky && x.picky === x.copy && x.copy < x.out)) fail(`layout: ${JSON.stringify(x)}`);

  const read = () => page.evaluate(() => {
    const n = (s) => Number(s.replace(/,/g, ""));
    const total = (k) => n(document.querySelector(`[data-total="${k}"]`).textContent);
    const calls = {};
    for (const tr of document.querySelectorAll("#nodes tr[data-node]")) {
      calls[tr.dataset.node] = n(tr.querySelector('[data-metric="calls"]').textContent);
    }
    return { emitted: total("emitted"), delivered: total("delivered"), copies: total("copies"),
             calls, rates: [...document.querySelectorAll("svg#graph g.node .rate")].map((t) => t.textContent),
             events: document.querySelectorAll("#events li.warn").length };
  });
  const first = await read();
  await page.waitForTimeout(2000);
  const second = await read();
  console.log(`first read:  ${JSON.stringify(first)}`);
  console.log(`second read: ${JSON.stringify(second)}`);
  for (const k of ["emitted", "delivered", "copies"]) {
    if (!(second[k] > first[k])) fail(`${k} did not move: ${first[k]} then ${second[k]}`);
  }
  for (const node of NODES) {
    if (!(second.calls[node] > first.calls[node])) {
      fail(`node ${node}'s calls did not move: ${first.calls[node]} then ${second.calls[node]}`);
    }
  }
  if (!second.rates.some((r) => /[1-9]/.test(r))) fail(`no rate on the graph: ${second.rates}`);
  if (second.events === 0) fail("the erring node's failed calls are not listed");
  if (errors.length) fail(`page errors: ${errors}`);
  if (foreign.length) fail(`the page asked for something else than its server: ${foreign}`);
  await page.screenshot({ path: path.join(tmp, "live.png"), fullPage: true });
  console.log(`ok: the page shows every node and edge, its numbers move; screenshot ${path.join(tmp, "live.png")}`);
} finally {
  if (context !== null) await context.close();
  if (exited === null) run.kill("SIGTERM");
  await new Promise((resolve) => (exited !== null ? resolve() : run.on("exit", resolve)));
}
console.log(`browser checks took ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (exited.code !== 143) {
  fail(`torvyn did not stop as asked: ${JSON.stringify(exited)}\n${stderr}`);
}
