// A real browser (Debian's Chromium via chromedriver) logs in through the worker against the
// local IdP. It proves what no HTTP client can: Chromium stores our __Host-/Secure cookies on
// http://localhost, sends the SameSite=Strict ones on the callback page's fetch after arriving
// from the IdP, and page scripts cannot read any of them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startIdp, startWorker, ORIGIN, ISSUER, artifactDir } from "../support/stack.mjs";
import { Browser } from "../support/webdriver.mjs";

let idp, worker, browser;
before(async () => {
  idp = await startIdp();
  worker = await startWorker();
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
  await worker?.stop();
  await idp?.stop();
});

test("login in Chromium: sealed HttpOnly __Host- cookies, invisible to the page", async () => {
  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector(".status.signed-out"), 15_000, "the signed-out view");

  const start = await browser.run(async () => {
    const res = await fetch("/auth/login/start", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ returnTo: "/profile" }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(start.status, 200, JSON.stringify(start));
  const loginCookie = (await browser.cookies()).find((c) => c.name === "__Host-edgeward-login");
  assert.ok(loginCookie, "Chromium stored the __Host- login cookie on http://localhost");
  assert.equal(loginCookie.httpOnly, true);
  assert.equal(loginCookie.secure, true);
  assert.equal(loginCookie.sameSite, "Strict");

  // The IdP's own form, filled in like a person would.
  await browser.goto(start.body.authorizationUrl);
  await browser.until(() => document.querySelector("#username"), 10_000, "the IdP login form");
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await browser.screenshot(join(artifactDir(), "e2e-idp-login.png"));
  await browser.click("button[type=submit]");
  // The IdP sends the browser to /callback. The SPA's callback page finishes the login by
  // posting its URL to /auth/login/end: that works only if Chromium sent the SameSite=Strict
  // login cookie although the page was reached from the IdP. Then it replaces itself with the
  // returnTo given at login start.
  await browser.until(() => location.pathname === "/profile" && document.querySelector("table.claims"), 15_000, "the profile after login");
  const callback = await browser.run(() => performance.getEntriesByType("navigation")[0].name);
  assert.ok(callback.startsWith(`${ORIGIN}/callback?`), callback);
  assert.match(callback, new RegExp(`iss=${encodeURIComponent(ISSUER)}`));
  const after = await browser.run(async () => ({
    session: await (await fetch("/auth/session")).json(),
    documentCookie: document.cookie,
    search: location.search,
  }));
  assert.equal(after.session.isLoggedIn, true);
  assert.equal(after.session.claims.name, "Demo User");
  assert.equal(after.search, "", "the code left the address bar");
  assert.equal(after.documentCookie, "", "page scripts see no cookie at all");

  const cookies = await browser.cookies();
  for (const name of ["__Host-edgeward-at", "__Host-edgeward-rt", "__Host-edgeward-id"]) {
    const c = cookies.find((x) => x.name === name);
    assert.ok(c, `${name} stored by Chromium`);
    assert.equal(c.httpOnly, true, name);
    assert.equal(c.secure, true, name);
    assert.equal(c.path, "/", name);
    assert.equal(c.sameSite, "Strict", name);
  }
  assert.equal(cookies.find((c) => c.name === "__Host-edgeward-login"), undefined, "login cookie gone");

  // The SPA's own view now shows the session.
  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector(".status.signed-in"), 15_000, "the signed-in view");
  const greeting = await browser.run(() => document.querySelector(".status.signed-in").textContent);
  assert.match(greeting, /Signed in as Demo User/);
  await browser.screenshot(join(artifactDir(), "e2e-signed-in.png"));

  // No token in the page's storage either.
  const storage = await browser.run(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.equal(storage, "{}{}");
});
