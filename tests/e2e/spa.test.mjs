// The SPA in a real browser, used like a person would: sign in with the button and the IdP's
// form, call an API from the explorer, look at the profile, sign out, and watch a second tab
// follow; with the API and then the IdP down, the page says so. Screenshots of each step go to
// test-artifacts/ (e2e-spa-*.png).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { useStack, startExampleApi, ORIGIN, artifactDir } from "../support/stack.mjs";
import { Browser } from "../support/webdriver.mjs";

// Access tokens live 8 s, so the second test sees them expire.
const ACCESS_TTL = 8;
const stack = useStack({ idp: { IDP_ACCESS_TOKEN_TTL: String(ACCESS_TTL) }, worker: true, api: true });
let browser;
before(async () => {
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shot = (name) => browser.screenshot(join(artifactDir(), `e2e-spa-${name}.png`));
const text = (css) => browser.run((sel) => document.querySelector(sel)?.textContent ?? null, css);

test("sign in, call an API, see the profile, sign out; a second tab follows", async () => {
  await browser.goto(`${ORIGIN}/`);
  await browser.clearCookies();
  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector(".status.signed-out .sign-in"), 15_000, "the signed-out view");
  await shot("1-signed-out");

  // Sign in: the button, then the IdP's own form.
  await browser.click(".status .sign-in");
  await browser.until(() => document.querySelector("#username"), 10_000, "the IdP login form");
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await shot("2-idp-login");
  await browser.click("button[type=submit]");

  // Back on the SPA, signed in, and the code is gone from the address bar.
  await browser.until(() => document.querySelector(".status.signed-in"), 15_000, "the signed-in view");
  const url = new URL(await browser.currentUrl());
  assert.equal(url.pathname, "/");
  assert.equal(url.search, "", "no code or state left in the address bar");
  assert.match(await text(".status.signed-in"), /Signed in as Demo User/);
  assert.equal(await text(".account .who"), "Demo User");
  await shot("3-signed-in");

  // A second tab of the same browser shares the session.
  const first = await browser.tab();
  const second = await browser.newTab();
  await browser.switchTo(second);
  await browser.goto(`${ORIGIN}/profile`);
  await browser.until(() => document.querySelector(".profile table.claims"), 15_000, "the profile in tab 2");
  await browser.switchTo(first);

  // The explorer: GET /api/whoami answers who is calling.
  await browser.click("a[href='/explorer']");
  await browser.until(() => document.querySelector("#ex-path"), 10_000, "the explorer");
  await browser.click("button.send");
  await browser.until(() => document.querySelector(".response .http-status"), 15_000, "the API's answer");
  assert.equal((await text(".response .http-status")).trim(), "200 OK");
  const whoami = JSON.parse(await text(".response pre.body"));
  assert.equal(whoami.sub, "demo");
  assert.match(whoami.request.headers.authorization, /^Bearer eyJ/);
  assert.equal(whoami.request.headers.cookie, undefined, "the API never sees a cookie");
  await shot("4-explorer");

  // A POST with a JSON body: the client adds the CSRF header, the worker checks it.
  await browser.run(() => {
    const select = document.querySelector("#ex-method");
    select.value = "POST";
    select.dispatchEvent(new Event("change", { bubbles: true }));
  });
  await browser.run(() => {
    const path = document.querySelector("#ex-path");
    path.value = "echo/notes";
    path.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await browser.type("#ex-body", '{"note": "hello from the explorer"}');
  await browser.click("button.send");
  await browser.until(
    () => document.querySelector(".response pre.body")?.textContent.includes("/echo/notes"),
    15_000,
    "the echo",
  );
  const echo = JSON.parse(await text(".response pre.body"));
  assert.equal(echo.request.method, "POST");
  assert.equal(echo.request.body, '{"note": "hello from the explorer"}');
  assert.equal(echo.request.headers["x-edgeward-csrf"], undefined, "the CSRF header stops at the worker");
  assert.equal(await browser.run(() => document.querySelectorAll(".recent li").length), 2);
  await shot("5-explorer-post");

  // The profile: claims and a running countdown.
  await browser.click("a[href='/profile']");
  await browser.until(() => document.querySelector(".session-countdown"), 10_000, "the profile");
  const claims = await text("table.claims");
  assert.match(claims, /Demo User/);
  assert.match(claims, /demo@example\.com/);
  const before = await text(".session-countdown");
  assert.match(before, /^2[34] h \d\d min \d\d s$/);
  let later = before;
  for (let i = 0; i < 25 && later === before; i++) {
    await new Promise((r) => setTimeout(r, 200));
    later = await text(".session-countdown");
  }
  assert.notEqual(later, before, "the countdown moves");
  await shot("6-profile");

  // No script error and no console error so far. (Chromium logs every 4xx/5xx fetch as a
  // network error; those are the protocol working, so only script and console entries count.)
  const logged = (await browser.consoleLog()).filter(
    (e) => e.level === "SEVERE" && !/Failed to load resource/.test(e.message),
  );
  assert.deepEqual(logged, [], "no console errors");

  // Nothing a script can read holds a token.
  const exposed = await browser.run(() => ({
    cookie: document.cookie,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
  }));
  assert.deepEqual(exposed, { cookie: "", local: "{}", session: "{}" });

  // The API down: the explorer shows the worker's 502 and its JSON error.
  await stack.api.stop();
  await browser.click("a[href='/explorer']");
  await browser.until(() => document.querySelector("#ex-path"), 10_000, "the explorer");
  await browser.click("button.send");
  await browser.until(() => document.querySelector(".response.bad .http-status"), 15_000, "the 502");
  assert.match(await text(".response .http-status"), /^502/);
  assert.equal(JSON.parse(await text(".response pre.body")).code, "upstream_unavailable");

  // Sign out: the worker clears the cookies, the IdP ends its session, back to the start page.
  await browser.click(".account .sign-out");
  await browser.until(() => document.querySelector("button[name=logout], button[value=yes]"), 10_000, "the IdP's sign-out page");
  await browser.click("button[value=yes]");
  await browser.until(() => document.querySelector(".status.signed-out"), 15_000, "the signed-out view");
  assert.equal(new URL(await browser.currentUrl()).pathname, "/");
  const left = (await browser.cookies()).filter((c) => c.name.startsWith("__Host-edgeward-"));
  assert.deepEqual(left, [], "no session cookie left");
  await shot("7-signed-out");

  // The second tab heard it and shows the signed-out state without a reload.
  await browser.switchTo(second);
  await browser.until(() => document.querySelector(".profile .status.signed-out"), 3_000, "tab 2 to follow the sign-out");
  await shot("8-second-tab");
});

test("an expired access token is refreshed without the user noticing; with the IdP down the page says so", async () => {
  await stack.api.stop();
  stack.api = await startExampleApi();
  await browser.goto(`${ORIGIN}/explorer`);
  await browser.until(() => document.querySelector(".status.signed-out .sign-in"), 15_000, "the signed-out explorer");
  await browser.click(".status .sign-in");
  await browser.until(() => document.querySelector("#username"), 10_000, "the IdP login form");
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await browser.click("button[type=submit]");
  // Back where the sign-in started.
  await browser.until(() => location.pathname === "/explorer" && document.querySelector("#ex-path"), 15_000, "the explorer, signed in");

  await sleep((ACCESS_TTL + 1) * 1000);
  await browser.click("button.send");
  await browser.until(() => document.querySelector(".response .timing"), 15_000, "the answer");
  assert.equal((await text(".response .http-status")).trim(), "200 OK");
  assert.match(await text(".response .timing"), /after a token refresh/);

  // The IdP goes down and the new access token expires too: the refresh cannot happen.
  await stack.idp.stop();
  await sleep((ACCESS_TTL + 1) * 1000);
  await browser.click("button.send");
  await browser.until(() => document.querySelector(".explorer .error"), 20_000, "the error");
  assert.match(await text(".explorer .error"), /sign-in service is not answering/);
  assert.equal(await browser.run(() => document.querySelector(".banner")), null, "the session is not ended");
  await shot("9-idp-down");
});
