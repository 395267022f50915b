// The foundation, against the real worker runtime (wrangler dev / workerd) and a real browser:
// static assets with SPA fallback, the worker on /auth/*, JSON errors, configuration errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, WORKER_PORT, ORIGIN } from "../support/stack.mjs";
import { Browser } from "../support/webdriver.mjs";

let worker, browser;
before(async () => {
  worker = await startWorker();
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
  await worker?.stop();
});

const navigate = { accept: "text/html", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" };

test("/ serves the SPA shell with security headers and no inline script", async () => {
  const res = await fetch(`${ORIGIN}/`, { headers: navigate });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  const csp = res.headers.get("content-security-policy");
  assert.ok(csp?.includes("script-src 'self' 'wasm-unsafe-eval'"), `CSP: ${csp}`);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  const html = await res.text();
  assert.match(html, /<script type="module" src="\/boot-[0-9a-f]+\.js"><\/script>/);
  assert.doesNotMatch(html, /<script type="module">/, "inline scripts would need 'unsafe-inline'");
});

test("a deep SPA route falls back to index.html", async () => {
  const shell = await (await fetch(`${ORIGIN}/`, { headers: navigate })).text();
  const res = await fetch(`${ORIGIN}/any/spa/route`, { headers: navigate });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), shell);
});

test("GET /auth/session answers signed out, uncacheable", async () => {
  const res = await fetch(`${ORIGIN}/auth/session`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await res.json(), { isLoggedIn: false });
});

test("unknown /auth and /api paths are JSON 404s from the worker, not the SPA", async () => {
  for (const path of ["/auth/nope", "/api/nothing/here"]) {
    const res = await fetch(`${ORIGIN}${path}`, { headers: navigate });
    assert.equal(res.status, 404, path);
    const body = await res.json();
    assert.equal(body.code, "route_not_found", path);
    assert.equal(typeof body.message, "string");
  }
});

test("a wrong method is a JSON 405 with Allow", async () => {
  const res = await fetch(`${ORIGIN}/auth/session`, { method: "POST", body: "{}" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD");
  assert.equal((await res.json()).code, "method_not_allowed");
});

test("the page renders 'Signed out' in Chromium after asking the worker", async () => {
  await browser.goto(`${ORIGIN}/`);
  const text = await browser.until(() => document.querySelector(".status.signed-out")?.textContent, 15_000, "the signed-out view");
  assert.match(text, /Signed out/);
});

test("a deep link renders the SPA's own 404 view in Chromium", async () => {
  await browser.goto(`${ORIGIN}/no/such/page`);
  const heading = await browser.until(() => document.querySelector("main h1")?.textContent, 15_000, "the SPA's view");
  assert.equal(heading, "Page not found");
});

test("a bad configuration is a 500 config_invalid naming the variable", async () => {
  const port = WORKER_PORT + 1;
  const bad = await startWorker({ port, vars: { EDGEWARD_ORIGIN: "http://localhost:1/some/path" } });
  try {
    const res = await fetch(`http://localhost:${port}/auth/session`);
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.equal(body.code, "config_invalid");
    assert.match(body.message, /EDGEWARD_ORIGIN/);
  } finally {
    await bad.stop();
  }
});
