// Chromium signs in through the worker at a provider nobody here wrote: django-oauth-toolkit
// (PyPI, started by tests/support/idps.mjs), on a worker that serves two providers at once
// (EDGEWARD_PROVIDERS: DOT and Glewlwyd). The SPA's sign-in page offers one button per provider;
// the DOT one leads to Django's own login form, filled in like a person would. Then the SPA
// shows the session (from DOT), an API call goes through the proxy (DOT's token introspected, a
// worker token minted), and signing out takes the browser through DOT's end-session endpoint
// (which ends DOT's session too) back to the signed-out SPA. Then, in the same browser, a user
// signs in with the Glewlwyd button: Glewlwyd's own JavaScript login page and consent page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startWorker, startExampleApi, ORIGIN, API, artifactDir } from "../support/stack.mjs";
import { startDot, startGlewlwyd, IDPS_CLIENT_SECRET } from "../support/idps.mjs";
import { Browser } from "../support/webdriver.mjs";

let dot, gw, worker, api, browser;
before(async () => {
  dot = await startDot({ origin: ORIGIN });
  gw = await startGlewlwyd({ origin: ORIGIN });
  worker = await startWorker({
    vars: {
      OIDC_ISSUER: "",
      OIDC_CLIENT_ID: "",
      OIDC_CLIENT_SECRET: "",
      EDGEWARD_PROVIDERS: JSON.stringify([
        { id: "dot", name: "Django", issuer: dot.issuer, clientId: "edgeward" },
        {
          id: "gw",
          name: "Glewlwyd",
          issuer: gw.issuer,
          clientId: "edgeward",
          scopes: "openid profile email offline_access",
          quirks: ["bare-400-is-invalid-grant"],
        },
      ]),
      OIDC_CLIENT_SECRET_DOT: IDPS_CLIENT_SECRET,
      OIDC_CLIENT_SECRET_GW: IDPS_CLIENT_SECRET,
      // DOT's introspection answer names no token_type (README "Providers").
      EDGEWARD_TOKEN_TYPES: "Bearer,none",
      EDGEWARD_API_ROUTES: JSON.stringify([{ prefix: "/api/whoami/", upstream: `${API}/whoami/`, methods: ["GET"] }]),
    },
  });
  api = await startExampleApi();
  browser = await Browser.start();
});
after(async () => {
  await browser?.stop();
  await api?.stop();
  await worker?.stop();
  await gw?.stop();
  await dot?.stop();
});

const shot = (name) => browser.screenshot(join(artifactDir(), `e2e-dot-${name}.png`));

test("Chromium, two providers on one worker: sign in at django-oauth-toolkit, call an API, sign out through DOT; then sign in at Glewlwyd in the same browser", async () => {
  await browser.goto(`${ORIGIN}/`);
  await browser.clearCookies();
  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelectorAll(".status.signed-out [data-provider] .sign-in").length === 2, 15_000, "one button per provider");
  const buttons = await browser.run(() => [...document.querySelectorAll(".status.signed-out [data-provider]")].map((d) => [d.dataset.provider, d.textContent.trim()]));
  assert.deepEqual(buttons, [["dot", "Sign in with Django"], ["gw", "Sign in with Glewlwyd"]]);

  await browser.click('.status [data-provider="dot"] .sign-in');
  // Django's login form (django.contrib.auth's LoginView), on DOT's origin.
  await browser.until(() => document.querySelector("#id_username"), 15_000, "DOT's login form");
  const at = await browser.run(() => location.href);
  assert.ok(at.startsWith(dot.issuer.replace(/\/o$/, "")), at);
  await browser.type("#id_username", "demo");
  await browser.type("#id_password", "demo");
  await shot("1-login");
  await browser.click("form [type=submit]");

  await browser.until(() => document.querySelector(".status.signed-in"), 20_000, "the signed-in view");
  const callback = await browser.run(() => performance.getEntriesByType("navigation")[0].name);
  assert.match(callback, new RegExp(`iss=${encodeURIComponent(dot.issuer)}`), "DOT's RFC 9207 iss on the callback");
  const state = await browser.run(async () => ({
    session: await (await fetch("/auth/session")).json(),
    api: await fetch("/api/whoami/").then(async (r) => ({ status: r.status, body: await r.json() })),
    documentCookie: document.cookie,
  }));
  assert.equal(state.session.isLoggedIn, true);
  assert.equal(state.session.provider, "dot");
  assert.match(state.session.claims.sub, /^[0-9]+$/, "DOT's subject: the Django user's id");
  assert.equal(state.session.claims.name, "Demo User");
  assert.equal(state.api.status, 200, JSON.stringify(state.api.body));
  assert.equal(state.api.body.sub, state.session.claims.sub, "the API sees the session's user");
  // DOT shares the host name (cookies ignore ports), so its CSRF cookie is visible; ours never.
  assert.doesNotMatch(state.documentCookie, /edgeward/, "no edgeward cookie visible to the page");
  await shot("2-signed-in");

  // Sign out: the SPA follows the logoutUrl to DOT's end-session endpoint, which sends the
  // browser back to the app (OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT is off in the test setup).
  // A mark on this document tells the page the browser came back to from the one it left.
  await browser.run(() => {
    window.beforeSignOut = true;
  });
  await browser.click(".sign-out");
  await browser.until(
    () => !window.beforeSignOut && document.readyState === "complete" && document.querySelector(".status.signed-out"),
    20_000,
    "the signed-out SPA, loaded anew after DOT's end-session endpoint",
  );
  assert.equal(await browser.run(() => location.pathname), "/");
  const after = await browser.run(async () => (await fetch("/auth/session")).json());
  assert.equal(after.isLoggedIn, false);
  await shot("3-signed-out");

  // DOT's own session ended too: signing in there again asks for the password.
  await browser.click('.status [data-provider="dot"] .sign-in');
  await browser.until(() => document.querySelector("#id_username"), 15_000, "DOT's login form again");

  // The other user of the same browser signs in at Glewlwyd: its own JavaScript login page, then
  // its consent page (the scopes ticked, "Grant access", "Continue"), back to the SPA.
  await browser.goto(`${ORIGIN}/`);
  await browser.until(() => document.querySelector('.status [data-provider="gw"] .sign-in'), 15_000, "the sign-in page");
  await browser.click('.status [data-provider="gw"] .sign-in');
  await browser.until(() => location.pathname.endsWith("/login.html") && document.querySelector("#username"), 15_000, "Glewlwyd's login page");
  assert.equal(new URL(await browser.run(() => location.href)).origin, gw.base);
  await browser.type("#username", "demo");
  await browser.type("#password", "demo");
  await shot("4-glewlwyd-login");
  await browser.click("#loginbut");
  await browser.until(
    () => [...document.querySelectorAll("button")].some((b) => b.textContent.trim() === "Grant access"),
    15_000,
    "Glewlwyd's consent page",
  );
  await browser.run(() => {
    for (const box of document.querySelectorAll("input[type=checkbox]:not(:checked):not(:disabled)")) box.click();
    [...document.querySelectorAll("button")].find((b) => b.textContent.trim() === "Grant access").click();
  });
  await shot("5-glewlwyd-consent");
  // "Continue" once it is enabled (on Glewlwyd's page), until the SPA shows the session.
  await browser.until(() => {
    const next = document.querySelector('button.btn-success[title="Continue to client application"]');
    if (next && !next.disabled) next.click();
    return document.querySelector(".status.signed-in");
  }, 20_000, "back at the SPA, signed in (Glewlwyd)");
  const gwSession = await browser.run(async () => (await fetch("/auth/session")).json());
  assert.equal(gwSession.isLoggedIn, true);
  assert.equal(gwSession.provider, "gw", "the session is Glewlwyd's");
  assert.equal(gwSession.claims.name, "Demo User");
  assert.notEqual(gwSession.claims.sub, state.session.claims.sub, "another provider's subject");
  await shot("6-glewlwyd-signed-in");
});
