// The proxy (cookie → phantom JWT) against workerd, the real IdP and the Rust example API.
// Access tokens live 5 s at this IdP and minted tokens 2 s in the worker, to show expiry and
// revocation in seconds. Every route also serves service clients (`clients: ["browser",
// "service"]`), so tokens other than the session's (a refresh token, another client's, one for
// another API) can be presented as non-browser clients would.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { useStack, ORIGIN, ISSUER, WORKER_PORT, API, API_ROUTES, CLIENT_SECRET } from "../support/stack.mjs";
import { signIn, openCookie } from "../support/session.mjs";
import { clientToken, tokensNotForUs } from "../support/tokens.mjs";

const SERVICE_ROUTES = JSON.stringify(JSON.parse(API_ROUTES).map((r) => ({ ...r, clients: ["browser", "service"] })));

const stack = useStack({
  idp: { IDP_ACCESS_TOKEN_TTL: "5" },
  // Grace 0: the revocation test revokes the grant by replaying a rotated refresh token, which
  // the refresh coordinator would otherwise answer from its grace window.
  worker: { vars: { EDGEWARD_PHANTOM_MAX_TTL: "2", EDGEWARD_REFRESH_GRACE: "0", EDGEWARD_API_ROUTES: SERVICE_ROUTES } },
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

  // Active at introspection, but not access tokens of accepted clients for this API.
  const attacks = await tokensNotForUs(jar);
  // Every attack's outcome at once, so a failure shows all of them.
  const outcomes = [];
  for (const [what, token] of attacks) {
    const got = await asBearer(token);
    outcomes.push(`${what}: ${got.status} ${got.code ?? `(the API answered, sub ${got.body.sub})`}`);
  }
  assert.deepEqual(outcomes, attacks.map(([what]) => `${what}: 401 invalid_token`));

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

/** How many requests the example API has received. */
const apiRequests = async () => (await (await fetch(`${API}/_test/requests`)).json()).count;

test("`..;`, `%3b`, double encoding and dot-only segments are 404 and never reach the API", async () => {
  const { jar } = await signIn();
  const cookie = jar.header(ORIGIN);
  // Each one survives the URL standard (workerd parses the request URL before the worker runs),
  // and each one is `..` or `/` to some server behind a proxy (Tomcat, Jetty and Spring read
  // `..;` as `..`; a second decode turns `%252e` into `.`; Windows trims dots and spaces).
  const attacks = [
    "/api/echo/..;/admin",
    "/api/echo/..;/..;/whoami",
    "/api/echo/..;jsessionid=x/admin",
    "/api/echo/..%3b/admin",
    "/api/echo/..%3B/admin",
    "/api/echo/%3b",
    "/api/echo/a;b",
    "/api/echo/%252e%252e/admin",
    "/api/echo/%252E%252E%252Fadmin",
    "/api/echo/a%252fb",
    "/api/echo/%25",
    "/api/echo/...",
    "/api/echo/..%20/admin",
    "/api/echo/%20../admin",
    "/api/echo/.%20./admin",
    "/api/echo/..%09/admin",
    "/api/echo/a%0d%0aX-Injected:%201",
    "/api/echo/%c0%ae%c0%ae/admin",
    "/api/echo/%ef%bc%8e%ef%bc%8e/admin",
    "/api/echo/a%ef%bc%8fb",
    "/api/echo/a%3fb",
  ];
  const before = await apiRequests();
  for (const path of attacks) {
    const res = await rawGet(path, cookie);
    assert.equal(res.status, 404, `${path}: ${res.body}`);
    assert.equal(JSON.parse(res.body).code, "route_not_found", path);
  }
  assert.equal(await apiRequests(), before, "the API received none of them");

  // Dots inside names, spaces, and anything at all in the query still go through.
  const ok = await rawGet("/api/echo/a.b/c..d/e%20f?q=a;b&r=..;/&s=%252e", cookie);
  assert.equal(ok.status, 200, ok.body);
  const seen = JSON.parse(ok.body).request;
  assert.equal(seen.path, "/echo/a.b/c..d/e%20f");
  assert.equal(seen.query, "q=a;b&r=..;/&s=%252e");
});

test("headers that override the method, URL or identity never reach the API; a route's extras do", async () => {
  const { jar } = await signIn();
  const attacks = {
    "x-http-method-override": "DELETE",
    "x-http-method": "DELETE",
    "x-method-override": "DELETE",
    "x-original-url": "/admin",
    "x-rewrite-url": "/admin",
    "x-forwarded-host": "evil.example",
    "x-forwarded-for": "10.6.6.6",
    "x-forwarded-prefix": "/admin",
    forwarded: "for=10.6.6.6;host=evil.example",
    "x-real-ip": "10.6.6.6",
    "x-user-id": "admin",
    "x-tenant": "t-1",
  };
  const headers = { ...attacks, accept: "application/json", "x-request-id": "r-7", "if-none-match": '"v1"' };
  const res = await jar.fetch(`${ORIGIN}/api/echo/h`, { headers });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  const seen = body.request.headers;
  for (const name of Object.keys(attacks)) {
    assert.equal(seen[name], undefined, `${name} reached the API`);
  }
  assert.equal(seen.accept, "application/json");
  assert.equal(seen["x-request-id"], "r-7");
  assert.equal(seen["if-none-match"], '"v1"');
  assert.match(seen.authorization, /^Bearer eyJ/);

  // /api/tenant/ lists x-tenant in its requestHeaders: there it goes through (the rest does not).
  const tenant = await (await jar.fetch(`${ORIGIN}/api/tenant/h`, { headers })).json();
  assert.equal(tenant.request.headers["x-tenant"], "t-1");
  assert.equal(tenant.request.headers["x-http-method-override"], undefined);
  assert.equal(tenant.request.headers["x-user-id"], undefined);
});

/** GET /api/<route>/r with an answer shaped by the example API: `headers` as "Name: value". */
function shapedGet(jar, headers, { route = "echo", status, type, body } = {}) {
  const q = new URLSearchParams();
  for (const h of headers) q.append("respond-header", h);
  if (status) q.set("respond-status", String(status));
  if (type) q.set("respond-type", type);
  if (body) q.set("respond-body", body);
  return jar.fetch(`${ORIGIN}/api/${route}/r?${q}`);
}

test("an upstream's CORS, cookies, Clear-Site-Data and internal Location arrive sanitised", async () => {
  const { jar } = await signIn();
  const res = await shapedGet(
    jar,
    [
      "Access-Control-Allow-Origin: *",
      "Access-Control-Allow-Credentials: true",
      "Set-Cookie: planted=1; Path=/",
      'Clear-Site-Data: "*"',
      "Refresh: 0;url=https://evil.example/",
      "Location: http://internal.corp:8080/secret",
      "Strict-Transport-Security: max-age=0",
      "X-Ratelimit-Remaining: 9",
      "ETag: \"v1\"",
    ],
    { status: 302 },
  );
  assert.equal(res.status, 302);
  for (const name of [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "clear-site-data",
    "refresh",
    "location",
    "strict-transport-security",
    "x-ratelimit-remaining",
  ]) {
    assert.equal(res.headers.get(name), null, name);
  }
  assert.deepEqual(res.headers.getSetCookie(), []);
  assert.equal(res.headers.get("etag"), '"v1"');
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.match(res.headers.get("content-security-policy"), /(^|; )sandbox(;|$)/);
  assert.equal(res.headers.get("cross-origin-resource-policy"), "same-origin");

  // The route's responseHeaders pass its extras.
  const tenant = await shapedGet(jar, ["X-Ratelimit-Remaining: 9"], { route: "tenant" });
  assert.equal(tenant.headers.get("x-ratelimit-remaining"), "9");

  // A Location under the route's upstream comes back as the same place on our origin; one
  // elsewhere (here: the same API host, but outside this route's base) is dropped.
  const cases = [
    [`${API}/echo/next?x=1`, "/api/echo/next?x=1"],
    ["other", "/api/echo/other"],
    [`${API}/whoami/`, null],
    ["//evil.example/x", null],
  ];
  for (const [location, expected] of cases) {
    const r = await shapedGet(jar, [`Location: ${location}`], { status: 303 });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), expected, location);
  }
});

test("HTML or SVG from an upstream is sandboxed: no script on the SPA's origin", async () => {
  const { jar } = await signIn();
  for (const type of ["text/html", "image/svg+xml"]) {
    const body =
      type === "text/html"
        ? "<script>fetch('/auth/session').then(r => r.text()).then(alert)</script>"
        : '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>';
    const res = await shapedGet(jar, ["Content-Security-Policy: script-src *"], { type, body });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), type);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const csp = res.headers.get("content-security-policy");
    assert.equal(csp, "default-src 'none'; sandbox; frame-ancestors 'none'", "ours, not the upstream's");
    assert.equal(await res.text(), body);
  }
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
  const { jar } = await signIn();
  assert.equal((await jar.fetch(`${ORIGIN}/api/whoami`)).status, 200);
  // Revoke the whole grant at the IdP, behind the worker's back: refresh there once, then
  // replay the old refresh token (reuse of a rotated token revokes every token of the grant,
  // this access token included).
  const rt = openCookie("__Host-edgeward-rt", jar.get(ORIGIN, "__Host-edgeward-rt").value).token;
  const grant = () =>
    fetch(`${ISSUER}/token`, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`edgeward:${CLIENT_SECRET}`).toString("base64")}` },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: rt }),
    });
  assert.equal((await grant()).status, 200);
  assert.equal((await grant()).status, 400, "the reuse revokes the grant");

  // The phantom token minted before is served until it expires...
  assert.equal((await jar.fetch(`${ORIGIN}/api/whoami`)).status, 200);
  await sleep(2500); // past EDGEWARD_PHANTOM_MAX_TTL
  // ...then introspection says the access token is no longer active.
  const res = await jar.fetch(`${ORIGIN}/api/whoami`);
  assert.equal(res.status, 401);
  assert.equal((await res.json()).code, "unauthorized");
});

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
  // The runtime's reason (the JavaScript side made the request) reaches the log through the
  // Rust side, which answered the 502.
  const logged = /edgeward: upstream request failed: \S/;
  for (let i = 0; i < 50 && !logged.test(stack.worker.output()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(stack.worker.output(), logged, "the reason in the log");
});
