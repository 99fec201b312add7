// Loads partner.html (served from another origin) in headless Chromium and checks
// the iframe widget and the embed.js list: items, links, French dates, hostile
// titles shown as text, no script injected, host page untouched. Saves a screenshot.
//
// Environment: MEDIADESK_URL (the API server), PARTNER_URL (the partner page),
// ARTIFACTS (where the screenshot goes), CHROMIUM (default /usr/bin/chromium).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { launch } from "./launch.mjs";

const PARTNER = process.env.PARTNER_URL;
const ARTIFACTS = process.env.ARTIFACTS || "artifacts";
const HOSTILE = '<script>alert(1)</script> & "quotes" — Économie';
const IMG = '<img src=x onerror="window.top.__pwned=1">Pétrole';

test("the widget and embed.js render on a partner page from another origin", async () => {
  assert.ok(PARTNER, "PARTNER_URL is required");
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(PARTNER, { waitUntil: "load" });

    // The iframe.
    const frame = page.frame({ url: /\/embed\/mentions/ });
    assert.ok(frame, "the iframe loaded");
    await frame.waitForSelector("li");
    const frameItems = await frame.$$eval("li", (lis) => lis.map((li) => ({
      title: li.querySelector(".t").textContent,
      href: li.querySelector("a")?.getAttribute("href") ?? null,
      target: li.querySelector("a")?.getAttribute("target") ?? null,
      rel: li.querySelector("a")?.getAttribute("rel") ?? null,
      credit: li.querySelector(".c").textContent,
    })));
    // lang=fr: the two French demo items and the two French fixtures.
    assert.equal(frameItems.length, 4);
    assert.equal(frameItems[0].title, HOSTILE);
    assert.equal(frameItems[0].href, "https://example.org/news?a=1&b=2");
    assert.equal(frameItems[0].target, "_blank");
    assert.match(frameItems[0].rel, /noopener/);
    assert.equal(frameItems[0].credit, "par O'Brien & Co (avec Ellen Wald), S&P Global, 1er juillet 2022");
    assert.equal(frameItems[1].title, IMG);
    assert.equal(await frame.$$eval("img", (imgs) => imgs.length), 0, "no element injected from a title");
    assert.equal(await frame.textContent("h2"), "Nos experts dans les médias");
    assert.ok(frameItems.slice(2).every((i) => / juin 2022$/.test(i.credit)), JSON.stringify(frameItems));

    // The script, rendered into a shadow root.
    await page.waitForFunction(() => {
      const h = document.querySelector("#scripted");
      return h && h.shadowRoot && h.shadowRoot.querySelectorAll("li").length >= 4;
    });
    const scripted = await page.evaluate(() => {
      const root = document.querySelector("#scripted").shadowRoot;
      return {
        heading: root.querySelector("h2").textContent,
        items: [...root.querySelectorAll("li")].map((li) => ({
          title: li.querySelector(".t").textContent,
          href: li.querySelector("a")?.getAttribute("href") ?? null,
          rel: li.querySelector("a")?.getAttribute("rel") ?? null,
          credit: li.querySelector(".c").textContent,
          color: getComputedStyle(li).color,
          creditDisplay: getComputedStyle(li.querySelector(".c")).display,
        })),
        imgs: root.querySelectorAll("img").length,
      };
    });
    assert.equal(scripted.heading, "Nos experts dans les médias");
    assert.deepEqual(scripted.items.map((i) => i.title), frameItems.map((i) => i.title));
    assert.deepEqual(scripted.items.map((i) => i.credit), frameItems.map((i) => i.credit));
    assert.equal(scripted.items[0].href, "https://example.org/news?a=1&b=2");
    assert.match(scripted.items[0].rel, /noopener/);
    assert.equal(scripted.imgs, 0);
    // The host's hostile styles do not reach inside.
    assert.notEqual(scripted.items[0].color, "rgb(255, 0, 0)");
    assert.notEqual(scripted.items[0].creditDisplay, "none");

    // Nothing ran that should not have; the host page's own scripts still did.
    assert.deepEqual(dialogs, []);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.evaluate(() => window.hostScriptRan && window.hostCounter), 2);
    assert.deepEqual(errors, []);
    // The host page's own paragraphs stay hidden by its own stylesheet (ours did not leak out).
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}/embed.png`, fullPage: true });
  } finally {
    await browser.close();
  }
});
