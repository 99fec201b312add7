// The REST reference (/api/v1/docs) in headless Chromium: rendered Markdown (no
// backtick left in the prose), the operation of GET /api/v1/articles with its
// parameters and example, nothing requested from another host. Saves a
// screenshot next to the widget's.
//
// Environment: MEDIADESK_URL (the API server), ARTIFACTS (where the screenshot
// goes), CHROMIUM (default /usr/bin/chromium).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { launch } from "./launch.mjs";

const API = process.env.MEDIADESK_URL;
const ARTIFACTS = process.env.ARTIFACTS || "artifacts";

test("the REST reference renders every operation from openapi.yaml", async () => {
  assert.ok(API, "MEDIADESK_URL is required");
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const res = await page.goto(`${API}/api/v1/docs`, { waitUntil: "load" });
    assert.equal(res.status(), 200);

    // Every request the page made went to this server (the page itself only).
    assert.deepEqual(requests.filter((u) => !u.startsWith(`${API}/`)), []);
    assert.deepEqual(errors, []);

    // GET /api/v1/articles: its own section, parameters, responses and curl line.
    const op = await page.evaluate(() => {
      const s = document.getElementById("listArticles");
      return s && {
        heading: s.querySelector("h3").textContent,
        params: [...s.querySelectorAll("table")[0].querySelectorAll("tr td:first-child code")].map((c) => c.textContent),
        statuses: [...s.querySelectorAll("table")[1].querySelectorAll("tr td:first-child")].map((c) => c.textContent),
        example: s.querySelector("pre code").textContent,
      };
    });
    assert.ok(op, "a section for GET /api/v1/articles");
    assert.equal(op.heading, "GET /api/v1/articles");
    for (const p of ["expert", "outlet", "topic", "lang", "from", "to", "q", "order", "limit", "cursor"]) {
      assert.ok(op.params.includes(p), `parameter ${p}: ${op.params}`);
    }
    assert.deepEqual(op.statuses, ["200", "304", "400", "401"]);
    assert.equal(op.example, 'curl -s "$BASE/api/v1/articles"');

    // The Markdown is rendered: code spans are <code>, no backtick left in prose;
    // the contents link to each operation.
    const prose = await page.evaluate(() => {
      const body = document.body.cloneNode(true);
      body.querySelectorAll("pre, code").forEach((e) => e.remove());
      return body.textContent;
    });
    assert.ok(!prose.includes("`"), "raw Markdown left in the page's text");
    assert.ok(await page.$$eval("p code", (cs) => cs.some((c) => c.textContent === "If-None-Match")));
    const links = await page.$$eval("nav a[href^='#']", (as) => as.length);
    const sections = await page.$$eval("section.op", (ss) => ss.length);
    assert.ok(sections > 50, `${sections} operations`);
    assert.equal(links, sections + await page.$$eval("nav h3", (hs) => hs.length));

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/docs.png` });
    await page.goto(`${API}/api/v1/docs#createExpert`, { waitUntil: "load" });
    await page.screenshot({ path: `${ARTIFACTS}/docs-operation.png` });
  } finally {
    await browser.close();
  }
});
