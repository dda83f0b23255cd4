// tests/e2e/browser/page.js: opens ollaeval pages (report.html or
// compare.html) from file:// in Debian's headless Chromium through
// playwright-core, one browser process for all of them and a fresh browser
// context per page (JavaScript off is a context of its own), with every
// network request refused, and writes what the shell test checks as one
// JSON object per page:
//   load_ms        from navigation to the page's script being done
//                  (body[data-ready]), or to "load" with --js-off
//   requests       URLs requested other than the page itself (should be [])
//   csp            Content-Security-Policy violations (event and console)
//   errors         page errors and console errors
//   metrics        {name: data-value} of the metric cards
//   counts         {mode: data-count} of the mode buttons
//   text           the page's visible text (document.body.innerText)
//   injected       elements that only an injection would create (img,
//                  iframe, object, embed, any on* attribute, script
//                  without a CSP-allowed origin beyond the page's two)
//   detail         the detail view's text after clicking the first row
//                  (--click-first)
//   xss            window.__xss (set only if a payload ran)
//   first_row      the text of the table's first row
// Usage: node page.js PAGE.html SHOT.png [FLAGS]   (the JSON on stdout)
//        node page.js --jobs FILE   (one page a line: OUT.json, PAGE.html,
//                                    SHOT.png and the FLAGS, tab-separated;
//                                    a page that fails writes OUT.err
//                                    instead, the others go on; exit 1;
//                                    --alone: opened first, by itself;
//                                    the others $OLLAEVAL_PAGES_AT_ONCE
//                                    at a time, default 3)
// FLAGS: [--js-off] [--click-first] [--search TEXT] [--mode NAME]
//        [--sort HEADER [--sort HEADER]] [--hash FRAGMENT]
//        (FRAGMENT: opened as PAGE.html#FRAGMENT)
"use strict";
const path = require("path");
const fs = require("fs");

const nodeDir = process.env.OLLAEVAL_NODE_MODULES || path.join(__dirname, "../../../build/node/node_modules");
const { chromium } = require(path.join(nodeDir, "playwright-core"));

async function openPage(browser, args) {
  const file = path.resolve(args[0]);
  const shot = args[1];
  const jsOff = args.includes("--js-off");
  const clickFirst = args.includes("--click-first");
  const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : null; };
  const url = "file://" + file;
  const ctx = await browser.newContext({ javaScriptEnabled: !jsOff, viewport: { width: 1280, height: 1600 } });
  const out = { requests: [], csp: [], errors: [] };
  try {
    await ctx.route("**/*", (route) => {
      const u = route.request().url();
      if (u === url) return route.continue();
      out.requests.push(u);
      return route.abort();
    });
    const page = await ctx.newPage();
    page.on("request", (r) => { if (r.url() !== url && !out.requests.includes(r.url())) out.requests.push(r.url()); });
    page.on("pageerror", (e) => out.errors.push("pageerror: " + e.message));
    page.on("console", (m) => {
      const t = m.text();
      if (/Content Security Policy|Refused to/i.test(t)) out.csp.push(t);
      else if (m.type() === "error") out.errors.push("console: " + t);
    });
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener("securitypolicyviolation", (e) => {
        window.__csp.push(e.violatedDirective + " " + e.blockedURI);
      });
    });
    const t0 = Date.now();
    await page.goto(opt("--hash") ? url + "#" + opt("--hash") : url, { waitUntil: "load" });
    if (!jsOff) await page.waitForSelector("body[data-ready]", { timeout: 20000 });
    out.load_ms = Date.now() - t0;
    out.page_ms = await page.evaluate(() => Math.round(performance.now()));
    if (opt("--mode")) await page.click(`button[data-mode="${opt("--mode")}"]`);
    if (opt("--search")) await page.fill("input[type=search]", opt("--search"));
    for (let i = 0; i < args.length; i++) {
      if (args[i] === "--sort") await page.click(`#samples-app th:text-is("${args[i + 1]}")`);
    }
    if (clickFirst) {
      await page.click("#samples-app tbody tr, #items-app tbody tr");
      out.detail = await page.evaluate(() => { const d = document.getElementById("detail"); return d ? d.innerText : null; });
    }
    Object.assign(out, await page.evaluate(() => {
      const metrics = {}, counts = {};
      document.querySelectorAll("[data-metric] [data-value]").forEach((e) => {
        metrics[e.closest("[data-metric]").getAttribute("data-metric")] = e.getAttribute("data-value");
      });
      document.querySelectorAll("button[data-mode]").forEach((e) => { counts[e.getAttribute("data-mode")] = Number(e.getAttribute("data-count")); });
      const injected = [];
      document.querySelectorAll("img, iframe, object, embed, link, base, meta[http-equiv=refresh]").forEach((e) => injected.push(e.outerHTML.slice(0, 80)));
      document.querySelectorAll("*").forEach((e) => {
        for (const a of e.attributes) if (/^on/i.test(a.name)) injected.push(e.tagName + " " + a.name);
      });
      if (document.scripts.length !== 2) injected.push("scripts: " + document.scripts.length);
      const shown = document.querySelector("#samples-app .muted, #items-app .muted");
      const first = document.querySelector("#samples-app tbody tr, #items-app tbody tr");
      return { metrics, counts, injected, text: document.body.innerText, first_row: first ? first.innerText : null,
               detail_now: document.getElementById("detail") ? document.getElementById("detail").innerText : null, xss: window.__xss || undefined,
               csp_events: window.__csp || [], status: shown ? shown.textContent : null,
               rows: document.querySelectorAll("#samples-app tbody tr, #items-app tbody tr").length };
    }));
    out.csp = out.csp.concat(out.csp_events || []);
    delete out.csp_events;
    if (shot) {
      await page.screenshot({ path: shot });
      out.screenshot = shot;
    }
  } finally {
    await ctx.close();
  }
  return out;
}

async function main() {
  const argv = process.argv.slice(2);
  const jobs = argv[0] === "--jobs"
    ? fs.readFileSync(argv[1], "utf8").split("\n").filter((l) => l !== "").map((l) => l.split("\t"))
    : [[null].concat(argv)];
  const browser = await chromium.launch({
    executablePath: process.env.OLLAEVAL_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
  // pages open a few at a time (each in its own context); a job with
  // --alone (a timed page) opens first, with nothing else under way
  let failed = 0;
  const run = async ([dest, ...args]) => {
    let out;
    try {
      out = await openPage(browser, args.filter((a) => a !== "--alone"));
    } catch (e) {
      if (dest === null) throw e;
      failed++;
      fs.writeFileSync(dest.replace(/\.json$/, "") + ".err", String(e && e.stack || e) + "\n");
      return;
    }
    if (dest === null) process.stdout.write(JSON.stringify(out) + "\n");
    else fs.writeFileSync(dest, JSON.stringify(out) + "\n");
  };
  try {
    for (const job of jobs.filter((j) => j.includes("--alone"))) await run(job);
    const rest = jobs.filter((j) => !j.includes("--alone"));
    const workers = Math.max(1, Number(process.env.OLLAEVAL_PAGES_AT_ONCE) || 3);
    await Promise.all(Array.from({ length: workers }, async () => {
      while (rest.length) await run(rest.shift());
    }));
  } finally {
    await browser.close();
  }
  if (failed) process.exit(1);
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1); });
