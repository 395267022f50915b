// Several identity providers on one worker (issue 15): ONE worker configured with two
// independent providers at once through EDGEWARD_PROVIDERS — django-oauth-toolkit (id `dot`, the
// default) and Glewlwyd (id `gw`) — plus a third entry whose provider never runs (id `down`).
// A user of each signs in on the same worker; each session says its provider; refresh and logout
// go to the session's own provider; a response of one provider posted into a login started for
// the other is refused (mix-up); a route restricted to one provider refuses the other's
// sessions; Glewlwyd's back-channel logout ends its session only; an unknown provider is 400; a
// provider down is 502 for its users while the other's sign in and refresh.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, startExampleApi, ORIGIN, API, WORKER_PORT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { openCookie } from "../support/session.mjs";
import { startDot, startGlewlwyd, IDPS_CLIENT_SECRET } from "../support/idps.mjs";

const JSON_HEADERS = { origin: ORIGIN, "content-type": "application/json" };
const GLEWLWYD_SCOPES = "openid profile email offline_access";
// A port in this suite's range where nothing listens: the provider that is down.
const DOWN = `http://localhost:${WORKER_PORT + 9}/oidc`;

const post = (jar, path, csrf) =>
  jar.fetch(`${ORIGIN}${path}`, { method: "POST", headers: { origin: ORIGIN, ...(csrf ? { "x-edgeward-csrf": csrf } : {}) } });
const session = async (jar) => (await jar.fetch(`${ORIGIN}/auth/session`)).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const refreshTokenOf = (jar) => openCookie("__Host-edgeward-rt", jar.get(ORIGIN, "__Host-edgeward-rt").value).token;

/** login/start for provider `id` (none: the default) in `jar`: the authorization URL. */
async function startLogin(jar, id) {
  const body = id === undefined ? {} : { provider: id };
  const res = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
  const answer = await res.json();
  return { status: res.status, answer };
}

/** A sign-in at provider `idp` (id `id`) through the worker: `{ jar, csrf, callback }`. */
async function signInWith(idp, id) {
  const jar = new CookieJar();
  const { status, answer } = await startLogin(jar, id);
  assert.equal(status, 200, JSON.stringify(answer));
  const callback = await idp.login(jar, answer.authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` });
  const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ pageUrl: callback }) });
  const body = await end.json();
  assert.equal(end.status, 200, JSON.stringify(body));
  return { jar, csrf: body.csrf, callback };
}

describe("two independent providers on one worker", () => {
  const parts = {};
  before(async () => {
    parts.dot = await startDot({ origin: ORIGIN });
    parts.gw = await startGlewlwyd({ origin: ORIGIN });
    const providers = [
      { id: "dot", name: "django-oauth-toolkit", issuer: parts.dot.issuer, clientId: "edgeward" },
      {
        id: "gw",
        name: "Glewlwyd",
        issuer: parts.gw.issuer,
        clientId: "edgeward",
        scopes: GLEWLWYD_SCOPES,
        quirks: ["bare-400-is-invalid-grant"],
      },
      { id: "down", name: "Nobody", issuer: DOWN, clientId: "edgeward" },
    ];
    const api = (prefix, providers, extra = {}) => ({ prefix, upstream: `${API}/whoami/`, methods: ["GET"], providers, ...extra });
    parts.worker = await startWorker({
      vars: {
        // The single-provider variables must not be set beside EDGEWARD_PROVIDERS (empty: unset).
        OIDC_ISSUER: "",
        OIDC_CLIENT_ID: "",
        OIDC_CLIENT_SECRET: "",
        EDGEWARD_PROVIDERS: JSON.stringify(providers),
        OIDC_CLIENT_SECRET_DOT: IDPS_CLIENT_SECRET,
        OIDC_CLIENT_SECRET_GW: IDPS_CLIENT_SECRET,
        OIDC_CLIENT_SECRET_DOWN: "unused",
        EDGEWARD_REFRESH_GRACE: "0",
        // DOT's introspection answer names no token_type.
        EDGEWARD_TOKEN_TYPES: "Bearer,none",
        EDGEWARD_API_ROUTES: JSON.stringify([
          api("/api/dot/", ["dot"]),
          // Glewlwyd's access tokens name the scope string as their audience.
          api("/api/gw/", ["gw"], { acceptAudiences: [GLEWLWYD_SCOPES] }),
        ]),
      },
    });
    parts.api = await startExampleApi();
  });
  after(async () => {
    for (const part of ["api", "worker", "gw", "dot"]) await parts[part]?.stop();
  });

  test("the sign-in page's list: ids and names, nothing else", async () => {
    const res = await fetch(`${ORIGIN}/auth/providers`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      providers: [
        { id: "dot", name: "django-oauth-toolkit" },
        { id: "gw", name: "Glewlwyd" },
        { id: "down", name: "Nobody" },
      ],
    });
  });

  test("a user of each provider signs in on the same worker; each session says its provider", async () => {
    const d = await signInWith(parts.dot, "dot");
    const g = await signInWith(parts.gw, "gw");
    const [sd, sg] = [await session(d.jar), await session(g.jar)];
    assert.equal(sd.provider, "dot");
    assert.match(sd.claims.sub, /^[0-9]+$/, "DOT's sub is a database id");
    assert.equal(sg.provider, "gw");
    assert.match(sg.claims.sub, /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(new URL(d.callback).searchParams.get("iss"), parts.dot.issuer);
    assert.equal(new URL(g.callback).searchParams.get("iss"), parts.gw.issuer);
    // No provider named: the first.
    const { answer } = await startLogin(new CookieJar());
    assert.ok(answer.authorizationUrl.startsWith(parts.dot.discovery.authorization_endpoint), answer.authorizationUrl);
  });

  test("hostile (mix-up): a response of django-oauth-toolkit posted into a login started for Glewlwyd is refused", async () => {
    // The victim's browser starts a login at Glewlwyd.
    const victim = new CookieJar();
    const { answer } = await startLogin(victim, "gw");
    const state = new URL(answer.authorizationUrl).searchParams.get("state");
    // The attacker's authorization response from django-oauth-toolkit (a real code of theirs),
    // given the victim's state.
    const attacker = new CookieJar();
    const theirs = await startLogin(attacker, "dot");
    const callback = new URL(await parts.dot.login(attacker, theirs.answer.authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }));
    assert.equal(callback.searchParams.get("iss"), parts.dot.issuer);
    callback.searchParams.set("state", state);
    const end = await victim.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ pageUrl: callback.href }) });
    const body = await end.json();
    assert.equal(end.status, 400, JSON.stringify(body));
    assert.equal(body.code, "login_failed");
    assert.equal((await session(victim)).isLoggedIn, false);
    // Without its iss (the attacker strips it): Glewlwyd does not promise iss in discovery, so
    // the code goes to Glewlwyd's token endpoint only, where DOT's code is worth nothing.
    callback.searchParams.delete("iss");
    const again = new CookieJar();
    const second = await startLogin(again, "gw");
    callback.searchParams.set("state", new URL(second.answer.authorizationUrl).searchParams.get("state"));
    const stripped = await again.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ pageUrl: callback.href }) });
    const refused = await stripped.json();
    assert.equal(stripped.status, 400, JSON.stringify(refused));
    assert.equal(refused.code, "login_failed");
    assert.equal((await session(again)).isLoggedIn, false);
  });

  test("hostile: a callback without iss for django-oauth-toolkit, which promises it (RFC 9207), is refused", async () => {
    assert.equal(parts.dot.discovery.authorization_response_iss_parameter_supported, true);
    const jar = new CookieJar();
    const { answer } = await startLogin(jar, "dot");
    const callback = new URL(await parts.dot.login(jar, answer.authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` }));
    callback.searchParams.delete("iss");
    const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ pageUrl: callback.href }) });
    assert.equal(end.status, 400);
    assert.equal((await end.json()).code, "login_failed");
  });

  test("an unknown provider is 400 invalid_request, and no login cookie", async () => {
    for (const id of ["keycloak", "", "DOT"]) {
      const jar = new CookieJar();
      const { status, answer } = await startLogin(jar, id);
      assert.equal(status, 400, `${id}: ${JSON.stringify(answer)}`);
      assert.equal(answer.code, "invalid_request");
      assert.equal(jar.get(ORIGIN, "__Host-edgeward-login"), undefined);
    }
  });

  test("proxy: each route serves its provider's sessions; another provider's session is 403 provider_not_allowed", async () => {
    const d = await signInWith(parts.dot, "dot");
    const g = await signInWith(parts.gw, "gw");
    for (const [who, mine, other] of [
      [d, "/api/dot/", "/api/gw/"],
      [g, "/api/gw/", "/api/dot/"],
    ]) {
      const ok = await who.jar.fetch(`${ORIGIN}${mine}`);
      const body = await ok.json();
      assert.equal(ok.status, 200, JSON.stringify(body));
      assert.equal(body.sub, (await session(who.jar)).claims.sub, "the API sees the session's user");
      const refused = await who.jar.fetch(`${ORIGIN}${other}`);
      assert.equal(refused.status, 403);
      assert.equal((await refused.json()).code, "provider_not_allowed");
    }
  });

  test("refresh and logout go to the session's own provider", async () => {
    for (const [idp, id] of [
      [parts.dot, "dot"],
      [parts.gw, "gw"],
    ]) {
      const { jar, csrf } = await signInWith(idp, id);
      const before = refreshTokenOf(jar);
      const res = await post(jar, "/auth/refresh", csrf);
      assert.equal(res.status, 204, `${id}: ${await res.text()}`);
      assert.notEqual(refreshTokenOf(jar), before, `${id} rotated the refresh token`);
      const rotated = refreshTokenOf(jar);
      const out = await post(jar, "/auth/logout", csrf);
      assert.equal(out.status, 200);
      const url = new URL((await out.json()).logoutUrl);
      assert.equal(`${url.origin}${url.pathname}`, idp.discovery.end_session_endpoint, `${id}'s end-session endpoint`);
      // Revoked at its provider: the provider refuses it now.
      const grant = await fetch(idp.discovery.token_endpoint, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`edgeward:${IDPS_CLIENT_SECRET}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: rotated }).toString(),
      });
      assert.equal(grant.status, 400, `${id}: the revoked refresh token at its provider`);
    }
  });

  test("back-channel logout from Glewlwyd ends its session only; the django-oauth-toolkit session lives", async () => {
    const d = await signInWith(parts.dot, "dot");
    const g = await signInWith(parts.gw, "gw");
    const sid = openCookie("__Host-edgeward-id", g.jar.get(ORIGIN, "__Host-edgeward-id").value).b.s;
    const end = await g.jar.fetch(`${parts.gw.base}/api/oidc/session/${encodeURIComponent(sid)}`, { method: "DELETE" });
    assert.equal(end.status, 200, "Glewlwyd ended its session");
    let s;
    for (let i = 0; i < 50; i++) {
      s = await session(g.jar);
      if (!s.isLoggedIn) break;
      await sleep(100);
    }
    assert.equal(s.isLoggedIn, false, "Glewlwyd's session ended at the worker");
    assert.equal((await session(d.jar)).isLoggedIn, true, "the other provider's session lives");
    assert.equal((await d.jar.fetch(`${ORIGIN}/api/dot/`)).status, 200);
  });

  test("a provider down is 502 for its users only; the others sign in and refresh", async () => {
    const { status, answer } = await startLogin(new CookieJar(), "down");
    assert.equal(status, 502, JSON.stringify(answer));
    assert.equal(answer.code, "idp_unavailable");

    const d = await signInWith(parts.dot, "dot");
    const g = await signInWith(parts.gw, "gw");
    await parts.dot.stop();
    parts.dot = undefined;
    const res = await post(d.jar, "/auth/refresh", d.csrf);
    assert.equal(res.status, 502);
    assert.equal((await res.json()).code, "idp_unavailable");
    assert.equal((await session(d.jar)).isLoggedIn, true, "its session is kept for when it is back");
    // Glewlwyd's users are unaffected.
    assert.equal((await post(g.jar, "/auth/refresh", g.csrf)).status, 204);
    const fresh = await signInWith(parts.gw, "gw");
    assert.equal((await session(fresh.jar)).provider, "gw");
  });
});
