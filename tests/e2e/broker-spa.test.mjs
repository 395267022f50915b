// The SPA's "Connected accounts" page in a real browser (issue 17): signed in, the user
// connects an account at a second local IdP (the third-party provider, its own issuer and port)
// through its login form, comes back connected, and disconnects. Screenshots go to
// test-artifacts/ (e2e-broker-*.png).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { useStack, launch, waitFor, assertPortFree, ORIGIN, IDP_PORT, artifactDir } from "../support/stack.mjs";
import { Browser } from "../support/webdriver.mjs";

const THIRD_PORT = Number(process.env.TEST_THIRD_IDP_PORT || IDP_PORT + 1);
const THIRD = `http://localhost:${THIRD_PORT}`;
const JIRA_SECRET = "jira-e2e-secret";

const third = {};
let browser;
before(async () => {
  await assertPortFree(THIRD_PORT, "the third-party IdP");
  third.idp = launch("idp-third-e2e", process.execPath, ["tests/idp/server.mjs"], {
    IDP_PORT: String(THIRD_PORT),
    IDP_ISSUER: THIRD,
    APP_ORIGIN: ORIGIN,
    IDP_CLIENT_ID: "edgeward-jira",
    IDP_CLIENT_SECRET: JIRA_SECRET,
    IDP_REDIRECT_PATHS: "/connections/callback",
  });
  await waitFor(`${THIRD}/.well-known/openid-configuration`, 15_000, "the third-party IdP");
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
  await third.idp?.stop();
});

useStack({
  idp: true,
  worker: {
    vars: {
      EDGEWARD_CONNECTIONS: JSON.stringify([
        {
          name: "jira",
          issuer: THIRD,
          clientId: "edgeward-jira",
          clientSecretVar: "EDGEWARD_CONNECTION_SECRET_JIRA",
          scopes: ["openid", "offline_access"],
        },
      ]),
      EDGEWARD_CONNECTION_SECRET_JIRA: JIRA_SECRET,
      EDGEWARD_BROKER_KEYS: `b1:${"42".repeat(32)}`,
    },
  },
});

const shot = (name) => browser.screenshot(join(artifactDir(), `e2e-broker-${name}.png`));
const text = (css) => browser.run((sel) => document.querySelector(sel)?.textContent ?? null, css);

test("connect an account on the Connected accounts page, then disconnect it", async () => {
  await browser.goto(`${ORIGIN}/`);
  await browser.clearCookies();
  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector(".status.signed-out .sign-in"), 15_000, "the signed-out view");
  await browser.click(".status .sign-in");
  await browser.until(() => document.querySelector("#username"), 10_000, "the IdP login form");
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await browser.click("button[type=submit]");
  await browser.until(() => document.querySelector(".status.signed-in"), 15_000, "the signed-in view");

  await browser.click("a[href='/connections']");
  await browser.until(() => document.querySelector("tr.connection button"), 15_000, "the connections");
  assert.equal(await text("tr.connection .name"), "jira");
  assert.equal(await text("tr.connection .status"), "not connected");
  await shot("1-not-connected");

  // Connect: the third-party provider's own form, then back, connected.
  await browser.click("tr.connection button");
  await browser.until(() => document.querySelector("#username"), 10_000, "the provider's login form");
  assert.ok((await browser.currentUrl()).startsWith(THIRD), "at the third-party provider");
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await shot("2-provider-login");
  await browser.click("button[type=submit]");
  await browser.until(
    () => document.querySelector("tr.connection .status")?.textContent === "connected",
    15_000,
    "the connection connected",
  );
  const url = new URL(await browser.currentUrl());
  assert.equal(url.pathname, "/connections");
  assert.equal(url.search, "", "no code or state left in the address bar");
  const page = await browser.run(() => document.body.innerText);
  assert.ok(!/ey[A-Za-z0-9_-]{20,}/.test(page), "no token on the page");
  await shot("3-connected");

  // Disconnect.
  await browser.click("tr.connection button");
  await browser.until(
    () => document.querySelector("tr.connection .status")?.textContent === "not connected",
    15_000,
    "the connection disconnected",
  );
  await shot("4-disconnected");
});
