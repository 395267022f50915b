// Silent sign-in in Chromium: a worker with EDGEWARD_SILENT_SIGN_IN=on tells the signed-out SPA
// it may try `prompt=none` once. Without a session at the IdP, the user lands on the sign-in
// page where they were, and a reload does not try again (no loop); with one, the page signs in
// without showing the IdP. Screenshots go to test-artifacts/ (e2e-silent-*.png).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { useStack, ORIGIN, artifactDir } from "../support/stack.mjs";
import { Browser } from "../support/webdriver.mjs";

const stack = useStack({ idp: true, worker: { vars: { EDGEWARD_SILENT_SIGN_IN: "on" } } });
let browser;
before(async () => {
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shot = (name) => browser.screenshot(join(artifactDir(), `e2e-silent-${name}.png`));
const text = (css) => browser.run((sel) => document.querySelector(sel)?.textContent ?? null, css);
/** How many logins the worker has started so far (its request log). */
const loginStarts = () => stack.worker.output().split("POST /auth/login/start").length - 1;
const tried = () => browser.run(() => sessionStorage.getItem("edgeward.silentSignIn"));

test("without an IdP session: one silent try, then the sign-in page where the user was; a reload does not try again", async () => {
  // A page of the origin that runs no SPA (which would make its own silent try at once, racing
  // the clean-up below): the cookies and this tab's storage are cleared there.
  await browser.goto(`${ORIGIN}/auth/session`);
  await browser.clearCookies(); // the worker's and the IdP's (same host)
  await browser.run(() => sessionStorage.clear());
  const before = loginStarts();

  await browser.goto(`${ORIGIN}/profile`);
  await browser.until(
    () => location.pathname === "/profile" && document.querySelector(".profile .status.signed-out .sign-in"),
    20_000,
    "the sign-in page on /profile after the silent try",
  );
  await shot("1-not-signed-in");
  assert.equal(loginStarts(), before + 1, "exactly one silent try");
  assert.equal(await tried(), "/profile", "the try is remembered for this tab");
  const url = new URL(await browser.currentUrl());
  assert.equal(url.search, "", "no error left in the address bar");
  assert.equal(await text(".status.failed"), null, "not shown as a failure");

  // A reload: still signed out, no second trip to the IdP.
  await browser.goto(`${ORIGIN}/profile`);
  await browser.until(() => document.querySelector(".profile .status.signed-out .sign-in"), 15_000, "the sign-in page again");
  await sleep(1500);
  assert.equal(new URL(await browser.currentUrl()).pathname, "/profile");
  assert.equal(loginStarts(), before + 1, "no loop: the tab does not try again");
});

test("with an IdP session: a fresh tab is signed in silently, without the IdP's form", async () => {
  // Sign in interactively once: the IdP now has a session for demo.
  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector(".status.signed-out .sign-in"), 15_000, "the signed-out view");
  await browser.click(".status .sign-in");
  await browser.until(() => document.querySelector("#username"), 10_000, "the IdP login form");
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await browser.click("button[type=submit]");
  await browser.until(() => document.querySelector(".status.signed-in"), 15_000, "signed in");

  // The worker's session goes (its cookies, not the IdP's), and the tab is a fresh one.
  for (const c of await browser.cookies()) {
    if (c.name.startsWith("__Host-edgeward-")) await browser.cmd("DELETE", `/cookie/${encodeURIComponent(c.name)}`);
  }
  await browser.run(() => sessionStorage.clear());
  const before = loginStarts();

  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector(".status.signed-in"), 20_000, "signed in silently");
  await shot("2-signed-in-silently");
  assert.match(await text(".status.signed-in"), /Signed in as Demo User/);
  assert.equal(loginStarts(), before + 1, "one silent try did it");
  const url = new URL(await browser.currentUrl());
  assert.equal(url.pathname, "/");
  assert.equal(url.search, "", "no code or state left in the address bar");
});
