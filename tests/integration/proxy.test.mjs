// The proxy (cookie → phantom JWT) against workerd, the real IdP and the Rust example API.
// Access tokens live 5 s at this IdP and minted tokens 2 s in the worker, to show expiry and
// revocation in seconds. Bearer pass-through is on, so tokens other than the session's (a refresh
// token, another client's, one for another API) can be presented as non-browser clients would.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { useStack, ORIGIN, ISSUER, WORKER_PORT, API, CLIENT_SECRET } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn, openCookie } from "../support/session.mjs";

const stack = useStack({
  idp: { IDP_ACCESS_TOKEN_TTL: "5" },
  // Grace 0: the revocation test revokes the grant by replaying a rotated refresh token, which
  // the refresh coordinator would otherwise answer from its grace window.
  worker: { vars: { EDGEWARD_PHANTOM_MAX_TTL: "2", EDGEWARD_REFRESH_GRACE: "0", EDGEWARD_BEARER_PASSTHROUGH: "true" } },
  api: true,
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const introspections = async () => (await (await fetch(`${ISSUER}/_test/stats`)).json()).introspections;

test("GET through the proxy reaches the API with a valid JWT and without cookies", async () => {
  const { jar } = await signIn();
  const before = await introspections();
  const res = await jar.fetch(`${ORIGIN}/api/whoami`, { headers: { "x-request-id": "r-1" } });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.sub, "demo");
  assert.ok(body.scopes.includes("openid"));
  const seen = body.request.headers;
  assert.match(seen.authorization, /^Bearer eyJ/);
  assert.equal(seen.cookie, undefined, "the Cookie header never reaches the API");
  assert.ok(!Object.keys(seen).some((h) => h.startsWith("x-edgeward-")));
  assert.equal(seen["x-request-id"], "r-1");
  assert.equal(body.request.path, "/whoami/");
  assert.equal(await introspections(), before + 1);

  // Within the cache TTL the second call does not introspect again.
  const again = await jar.fetch(`${ORIGIN}/api/whoami`);
  assert.equal(again.status, 200);
  assert.equal(await introspections(), before + 1, "served from the isolate's cache");
});

const jwtPart = (jwt, i) => JSON.parse(Buffer.from(jwt.split(".")[i], "base64url").toString());

/** A client-credentials access token from the IdP for `client` (optionally for `resource`). */
async function clientToken(client, secret, resource) {
  const body = new URLSearchParams({ grant_type: "client_credentials", scope: "openid" });
  if (resource) body.set("resource", resource);
  const res = await fetch(`${ISSUER}/token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString("base64")}` },
    body,
  });
  const answer = await res.json();
  assert.equal(res.status, 200, JSON.stringify(answer));
  return answer.access_token;
}

/** `GET /api/whoami` as a non-browser client presenting `token`: status, code and body. */
async function asBearer(token) {
  const res = await fetch(`${ORIGIN}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  return { status: res.status, code: body.code, body };
}

test("minted tokens are RFC 9068 access tokens: typ at+jwt, jti, nbf, client_id", async () => {
  const { jar } = await signIn();
  const res = await jar.fetch(`${ORIGIN}/api/whoami`);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  const jwt = body.request.headers.authorization.replace(/^Bearer /, "");
  assert.equal(jwtPart(jwt, 0).typ, "at+jwt");
  const claims = jwtPart(jwt, 1);
  assert.equal(claims.client_id, "edgeward");
  assert.equal(claims.sub, "demo");
  assert.equal(claims.nbf, claims.iat);
  assert.ok(Buffer.from(claims.jti, "base64url").length >= 16, claims.jti);
});

test("only access tokens of accepted clients, for this API, are exchanged", async () => {
  const { jar } = await signIn();
  // The session's own access token, presented as a bearer: exchanged.
  const access = openCookie("__Host-edgeward-at", jar.get(ORIGIN, "__Host-edgeward-at").value);
  assert.equal((await asBearer(access.token)).status, 200);

  // A refresh token is active at introspection too (oidc-provider answers it without token_type).
  const refresh = openCookie("__Host-edgeward-rt", jar.get(ORIGIN, "__Host-edgeward-rt").value);
  const attacks = [
    ["a refresh token", refresh.token],
    ["another client's access token", await clientToken("other-client", "other-client-secret")],
    ["an access token for another API", await clientToken("edgeward", CLIENT_SECRET, "https://other-api.example/")],
  ];
  // Every attack's outcome at once, so a failure shows all of them.
  const outcomes = [];
  for (const [what, token] of attacks) {
    const got = await asBearer(token);
    outcomes.push(`${what}: ${got.status} ${got.code ?? `(the API answered, sub ${got.body.sub})`}`);
  }
  assert.deepEqual(outcomes, attacks.map(([what]) => `${what}: 401 unauthorized`));

  // A client-credentials token of the worker's own client for this API: exchanged, the client
  // as its subject.
  const service = await asBearer(await clientToken("edgeward", CLIENT_SECRET, API));
  assert.equal(service.status, 200, JSON.stringify(service.body));
  assert.equal(service.body.sub, "edgeward");
  assert.equal(service.body.clientId, "edgeward");
});

test("POST passes method, path, query and body; needs CSRF and an allowed Origin", async () => {
  const { jar, csrf } = await signIn();
  const payload = JSON.stringify({ hello: "edge", n: 42 });
  const url = `${ORIGIN}/api/echo/items/7?x=1&y=two`;
  const ok = await jar.fetch(url, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": csrf, "content-type": "application/json" },
    body: payload,
  });
  const body = await ok.json();
  assert.equal(ok.status, 200, JSON.stringify(body));
  assert.equal(body.request.method, "POST");
  assert.equal(body.request.path, "/echo/items/7");
  assert.equal(body.request.query, "x=1&y=two");
  assert.equal(body.request.body, payload);
  assert.equal(body.request.headers.cookie, undefined);
  assert.equal(body.request.headers["x-edgeward-csrf"], undefined);

  const cases = [
    [{ origin: ORIGIN }, 403, "csrf_rejected"],
    [{ origin: "https://evil.example", "x-edgeward-csrf": csrf }, 403, "origin_rejected"],
    [{ "x-edgeward-csrf": csrf }, 403, "origin_rejected"],
  ];
  for (const [headers, status, code] of cases) {
    const res = await jar.fetch(url, { method: "POST", headers, body: payload });
    assert.equal(res.status, status, code);
    assert.equal((await res.json()).code, code);
  }
});

test("no session is 401, an unknown route 404, a method not allowed 405, a missing scope 403", async () => {
  const anonymous = await fetch(`${ORIGIN}/api/whoami`);
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).code, "unauthorized");
  const { jar } = await signIn();
  const unknown = await jar.fetch(`${ORIGIN}/api/nothing/here`);
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).code, "route_not_found");
  const method = await jar.fetch(`${ORIGIN}/api/whoami`, { method: "DELETE", headers: { origin: ORIGIN } });
  assert.equal(method.status, 405);
  assert.equal(method.headers.get("allow"), "GET");
  // The API itself refuses: its answer comes back unchanged.
  const admin = await jar.fetch(`${ORIGIN}/api/admin`);
  assert.equal(admin.status, 403);
  assert.equal((await admin.json()).code, "insufficient_scope");
});

/** A GET with the exact raw path (fetch() would normalise it). */
function rawGet(path, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: WORKER_PORT, path, headers: { host: `localhost:${WORKER_PORT}`, cookie } }, (res) => {
      let data = "";
      res.on("data", (d) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode, body: data }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("encoded slashes and backslashes are 404; dot segments resolve before routing", async () => {
  const { jar } = await signIn();
  const cookie = jar.header(ORIGIN);
  for (const path of ["/api/echo/..%2fwhoami", "/api/echo/%2e%2e%2fadmin", "/api/echo/a%5c..%5cadmin", "/api/echo/a%2Fb"]) {
    const res = await rawGet(path, cookie);
    assert.equal(res.status, 404, path);
    assert.equal(JSON.parse(res.body).code, "route_not_found", path);
  }
  // The URL standard makes %2E%2E a dot segment: the runtime resolves it before the worker runs,
  // so this *is* /api/whoami and is routed (and allow-listed) as such. The API never sees "..".
  const resolved = await rawGet("/api/echo/%2E%2E/whoami", cookie);
  assert.equal(resolved.status, 200, resolved.body);
  const seen = JSON.parse(resolved.body).request.path;
  assert.equal(seen, "/whoami/");
  assert.doesNotMatch(seen, /\.\.|%2e/i);
});

test("an expired access token is 401; after /auth/refresh the retry succeeds", async () => {
  const { jar, csrf } = await signIn();
  assert.equal((await jar.fetch(`${ORIGIN}/api/whoami`)).status, 200);
  await sleep(5500);
  const expired = await jar.fetch(`${ORIGIN}/api/whoami`);
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).code, "unauthorized");
  const refresh = await jar.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });
  assert.equal(refresh.status, 204);
  const retry = await jar.fetch(`${ORIGIN}/api/whoami`);
  assert.equal(retry.status, 200);
});

test("a token revoked at the IdP stops working once the cache TTL has passed", async () => {
  const { jar, csrf } = await signIn();
  assert.equal((await jar.fetch(`${ORIGIN}/api/whoami`)).status, 200);
  // Revoke the whole grant at the IdP: refresh once, then replay the old refresh token (reuse
  // of a rotated token revokes every token of the grant, this access token included).
  const stale = new CookieJar();
  stale.set(ORIGIN, "__Host-edgeward-rt", jar.get(ORIGIN, "__Host-edgeward-rt").value);
  for (const n of ["__Host-edgeward-id", "__Host-edgeward-csrf"]) stale.set(ORIGIN, n, jar.get(ORIGIN, n).value);
  const rotated = copyOf(jar);
  assert.equal((await rotated.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } })).status, 204);
  assert.equal((await stale.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } })).status, 401);

  await sleep(2500); // past EDGEWARD_PHANTOM_MAX_TTL
  const res = await jar.fetch(`${ORIGIN}/api/whoami`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "unauthorized");
});

function copyOf(jar) {
  const copy = new CookieJar();
  for (const n of ["__Host-edgeward-at", "__Host-edgeward-rt", "__Host-edgeward-id", "__Host-edgeward-csrf"]) {
    copy.set(ORIGIN, n, jar.get(ORIGIN, n).value);
  }
  return copy;
}

test("the worker publishes its minting key; the API down is 502 upstream_unavailable", async () => {
  const jwks = await (await fetch(`${ORIGIN}/.well-known/jwks.json`)).json();
  assert.equal(jwks.keys.length, 1);
  assert.equal(jwks.keys[0].alg, "ES256");
  assert.equal(jwks.keys[0].d, undefined, "no private part");

  const { jar } = await signIn();
  await stack.api.stop();
  const res = await jar.fetch(`${ORIGIN}/api/whoami`);
  assert.equal(res.status, 502);
  const body = await res.json();
  assert.equal(body.code, "upstream_unavailable");
  assert.doesNotMatch(body.message, /localhost|8095|127\.0\.0\.1/, "no internal address in the body");
});
