// The SPA's Content-Security-Policy holds (issue 18): every route of the SPA, signed out and
// signed in, loads in Chromium under exactly the headers `dist/_headers` makes the platform serve,
// and the browser's console reports no CSP violation. A deliberate inline script shows that a
// violation would be seen.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { useStack, ORIGIN, ROOT } from "../support/stack.mjs";
import { Browser } from "../support/webdriver.mjs";

useStack({ idp: true, worker: true, api: true });
let browser;
before(async () => {
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
});

/** The routes of the SPA (app/src/lib.rs), and one it does not have (the SPA's not-found view). */
const ROUTES = ["/", "/profile", "/explorer", "/callback", "/no-such-page"];

/** `dist/_headers`' value of `name` for every path (`/*`), as the platform serves it. */
function servedHeader(name) {
  const lines = readFileSync(join(ROOT, "dist", "_headers"), "utf8").split("\n");
  const line = lines.find((l) => l.trim().toLowerCase().startsWith(`${name.toLowerCase()}:`));
  assert.ok(line, `dist/_headers sets ${name}`);
  return line.slice(line.indexOf(":") + 1).trim();
}

const violations = (entries) =>
  entries.filter((e) => /Content Security Policy|Refused to (load|execute|apply|connect|frame|evaluate)/i.test(e.message));

/** Loads `path`, waits for the SPA to draw its page, and returns the console's CSP violations. */
async function load(path) {
  await browser.goto(`${ORIGIN}${path}`);
  await browser.until(() => document.querySelector("header.bar .brand") && document.querySelector("main > *"), 15_000, `the SPA at ${path}`);
  // Drawn means the wasm ran; give the session call and anything after it a moment.
  await new Promise((r) => setTimeout(r, 500));
  return violations(await browser.consoleLog());
}

test("every route is served with exactly _headers' CSP", async () => {
  const csp = servedHeader("Content-Security-Policy");
  for (const path of ROUTES) {
    const res = await fetch(`${ORIGIN}${path}`);
    assert.equal(res.headers.get("content-security-policy"), csp, path);
    assert.equal(res.headers.get("strict-transport-security"), servedHeader("Strict-Transport-Security"), path);
    await res.arrayBuffer();
  }
});

test("no CSP violation on any route, signed out and signed in", async () => {
  await browser.goto(`${ORIGIN}/`);
  await browser.clearCookies();
  await browser.consoleLog();
  for (const path of ROUTES) assert.deepEqual(await load(path), [], `signed out: ${path}`);

  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector(".status.signed-out .sign-in"), 15_000, "the signed-out view");
  await browser.click(".status .sign-in");
  await browser.until(() => document.querySelector("#username"), 10_000, "the IdP login form");
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await browser.click("button[type=submit]");
  await browser.until(() => document.querySelector(".status.signed-in"), 15_000, "the signed-in view");
  // The IdP's own pages have their own policy: only what the SPA's pages report counts.
  await browser.consoleLog();
  for (const path of ROUTES) assert.deepEqual(await load(path), [], `signed in: ${path}`);
});

test("a violation is seen: an inline script on the page is refused and reported", async () => {
  await load("/");
  await browser.run(() => {
    const s = document.createElement("script");
    s.textContent = "window.inlineRan = true";
    document.head.appendChild(s);
  });
  await new Promise((r) => setTimeout(r, 300));
  const seen = violations(await browser.consoleLog());
  assert.ok(seen.length > 0, "the console reported the refused inline script");
  assert.equal(await browser.run(() => window.inlineRan ?? false), false);
});
