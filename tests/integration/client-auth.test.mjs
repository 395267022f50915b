// Client authentication with private_key_jwt (RFC 7523) and pushed authorization requests
// (RFC 9126) against the real provider (oidc-provider), which checks the assertions itself.
//
// The keys are made here, at every run: the IdP is given the public halves (the clients
// `edgeward-jwt` and `edgeward-par` of tests/idp/server.mjs), each worker a private one. The IdP
// records every client-authenticated call (GET /_test/client-calls), so the tests read the
// assertions the worker sent.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { startIdp, startWorker, startExampleApi, ISSUER, WORKER_PORT } from "../support/stack.mjs";
import { signIn } from "../support/session.mjs";
import { CookieJar } from "../support/jar.mjs";
import { loginAtIdp } from "../support/idp-login.mjs";

const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const EC_KID = `es-${randomBytes(4).toString("hex")}`;
const RSA_KID = `rs-${randomBytes(4).toString("hex")}`;
const publicJwks = {
  keys: [
    { ...ec.publicKey.export({ format: "jwk" }), kid: EC_KID, alg: "ES256", use: "sig" },
    { ...rsa.publicKey.export({ format: "jwk" }), kid: RSA_KID, alg: "RS256", use: "sig" },
  ],
};
/** The worker's ES256 key as a private JWK, with the kid the IdP registered. */
const EC_PRIVATE_JWK = JSON.stringify({ ...ec.privateKey.export({ format: "jwk" }), kid: EC_KID });
/** The worker's RS256 key as a PKCS#8 PEM (its kid from OIDC_CLIENT_KEY_ID). */
const RSA_PEM = rsa.privateKey.export({ type: "pkcs8", format: "pem" });
/** A key the IdP does not know, under the registered kid. */
const WRONG_JWK = JSON.stringify({
  ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }),
  kid: EC_KID,
});

const JWT_CLIENT = { OIDC_CLIENT_ID: "edgeward-jwt", OIDC_CLIENT_AUTH: "private_key_jwt" };

let idp;
before(async () => {
  idp = await startIdp({ IDP_KEY_CLIENT_JWKS: JSON.stringify(publicJwks) });
});
after(async () => idp?.stop());

const origin = (port) => `http://localhost:${port}`;
const post = (jar, base, path, csrf) =>
  jar.fetch(`${base}${path}`, { method: "POST", headers: { origin: base, ...(csrf ? { "x-edgeward-csrf": csrf } : {}) } });
const calls = async () => (await fetch(`${ISSUER}/_test/client-calls`)).json();
const replay = (on) => fetch(`${ISSUER}/_test/replay-assertion`, { method: "POST", body: JSON.stringify({ on }) });
const decode = (jwt) => {
  const [header, payload] = jwt.split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url")));
  return { header, payload };
};
const loginStart = (base, body) =>
  new CookieJar().fetch(`${base}/auth/login/start`, {
    method: "POST",
    headers: { origin: base, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A client assertion for `edgeward-jwt` signed with the registered ES256 key, as the worker makes them. */
function es256Assertion() {
  const now = Math.floor(Date.now() / 1000);
  const part = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${part({ alg: "ES256", kid: EC_KID, typ: "JWT" })}.${part({
    iss: "edgeward-jwt",
    sub: "edgeward-jwt",
    aud: `${ISSUER}/token`,
    jti: randomBytes(24).toString("base64url"),
    iat: now,
    exp: now + 60,
  })}`;
  const signature = sign("sha256", Buffer.from(input), { key: ec.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

/** A refresh-token grant (with a token that is no good) authenticated by `assertion`. */
const grantWith = (assertion) =>
  fetch(`${ISSUER}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: "not-a-refresh-token",
      client_id: "edgeward-jwt",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    }).toString(),
  });

/** Starts a worker on `port` for the tests of one describe block. */
function worker(port, vars) {
  const parts = {};
  before(async () => {
    parts.worker = await startWorker({ port, vars: { ...JWT_CLIENT, ...vars } });
  });
  after(async () => parts.worker?.stop());
}

describe("private_key_jwt, ES256 key as a JWK, aud = the token endpoint", () => {
  const base = origin(WORKER_PORT);
  worker(WORKER_PORT, { OIDC_CLIENT_KEY: EC_PRIVATE_JWK, EDGEWARD_REFRESH_GRACE: "0" });
  let api;
  before(async () => {
    api = await startExampleApi({ workerPort: WORKER_PORT });
  });
  after(async () => api?.stop());

  test("an API call through the proxy introspects the session's token with an assertion", async () => {
    const { jar } = await signIn(base);
    const seen = (await calls()).length;
    const res = await jar.fetch(`${base}/api/whoami`);
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.sub, "demo");
    const mine = (await calls()).slice(seen);
    assert.deepEqual(mine.map((c) => `${c.path} ${c.status}`), ["/token/introspection 200"]);
    const { header, payload } = decode(mine[0].assertion);
    assert.equal(header.kid, EC_KID);
    assert.equal(payload.iss, "edgeward-jwt");
    assert.equal(payload.aud, `${ISSUER}/token`);
  });

  test("login, refresh and logout with revocation each carry a fresh assertion the provider accepts", async () => {
    const seen = (await calls()).length;
    const { jar, csrf } = await signIn(base);
    const refreshed = await post(jar, base, "/auth/refresh", csrf);
    assert.equal(refreshed.status, 204, await refreshed.text());
    const logout = await post(jar, base, "/auth/logout", csrf);
    assert.equal(logout.status, 200, await logout.text());

    const mine = (await calls()).slice(seen);
    assert.deepEqual(
      mine.map((c) => `${c.path} ${c.status}`),
      ["/token 200", "/token 200", "/token/revocation 200"],
      "code grant, refresh grant, revocation: each accepted",
    );
    const jtis = new Set();
    for (const call of mine) {
      const { header, payload } = decode(call.assertion);
      assert.deepEqual(header, { alg: "ES256", kid: EC_KID, typ: "JWT" });
      assert.equal(payload.iss, "edgeward-jwt");
      assert.equal(payload.sub, "edgeward-jwt");
      assert.equal(payload.aud, `${ISSUER}/token`, "the token endpoint, for revocation too");
      assert.equal(payload.exp - payload.iat, 60, "a short life");
      assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 120, "issued now");
      assert.match(payload.jti, /^[A-Za-z0-9_-]{32}$/);
      jtis.add(payload.jti);
    }
    assert.equal(jtis.size, mine.length, "a new jti for every call");
  });

  test("attack: an assertion replayed (same jti) is refused by the provider, and edgeward answers JSON, not 500", async () => {
    const { jar, csrf } = await signIn(base);
    // An assertion made like the worker's: the provider authenticates the client with it once
    // (the grant itself is then refused: invalid_grant), and refuses the client the second time.
    const assertion = es256Assertion();
    const first = await grantWith(assertion);
    assert.deepEqual([first.status, (await first.json()).error], [400, "invalid_grant"]);
    const second = await grantWith(assertion);
    assert.deepEqual([second.status, (await second.json()).error], [401, "invalid_client"]);
    // And a copy of one the worker sent, presented again: refused the same way.
    const last = (await calls()).findLast((c) => c.path === "/token" && c.status === 200);
    const copied = await grantWith(last.assertion);
    assert.deepEqual([copied.status, (await copied.json()).error], [401, "invalid_client"]);

    // The worker's own call made to carry an assertion already used: the provider refuses
    // the client, the user gets a JSON error with a fixed message, and the session stays.
    await replay(true);
    let res;
    try {
      res = await post(jar, base, "/auth/refresh", csrf);
    } finally {
      await replay(false);
    }
    assert.equal(res.status, 502);
    assert.match(res.headers.get("content-type"), /application\/json/);
    assert.deepEqual(await res.json(), { code: "idp_rejected_client", message: "the identity provider does not accept this deployment's client: the operator must fix it" });
    assert.equal((await calls()).at(-1).error, "invalid_client");
    const again = await post(jar, base, "/auth/refresh", csrf);
    assert.equal(again.status, 204, "the session survived the refusal");
  });
});

describe("private_key_jwt, RS256 key as a PKCS#8 PEM, aud = the issuer, PAR always", () => {
  const port = WORKER_PORT + 1;
  const base = origin(port);
  worker(port, {
    OIDC_CLIENT_KEY: RSA_PEM,
    OIDC_CLIENT_KEY_ID: RSA_KID,
    OIDC_CLIENT_ASSERTION_AUD: "issuer",
    OIDC_PAR: "always",
  });

  test("login under PAR: the browser's URL carries only client_id and request_uri", async () => {
    const seen = (await calls()).length;
    const start = await loginStart(base, { extraParams: { login_hint: "demo" } });
    const text = await start.text();
    assert.equal(start.status, 200, text);
    const url = new URL(JSON.parse(text).authorizationUrl);
    assert.equal(`${url.origin}${url.pathname}`, `${ISSUER}/auth`);
    assert.deepEqual([...url.searchParams.keys()].sort(), ["client_id", "request_uri"]);
    assert.equal(url.searchParams.get("client_id"), "edgeward-jwt");
    assert.match(url.searchParams.get("request_uri"), /^urn:ietf:params:oauth:request_uri:/);

    const pushed = (await calls()).slice(seen);
    assert.equal(pushed.length, 1);
    assert.equal(pushed[0].path, "/request");
    assert.equal(pushed[0].status, 201);
    const { header, payload } = decode(pushed[0].assertion);
    assert.deepEqual(header, { alg: "RS256", kid: RSA_KID, typ: "JWT" });
    assert.equal(payload.aud, ISSUER);
    const p = pushed[0].params;
    assert.equal(p.redirect_uri, `${base}/callback`);
    assert.equal(p.code_challenge_method, "S256");
    assert.equal(p.login_hint, "demo");
    for (const name of ["state", "nonce", "code_challenge"]) assert.equal(p[name].length, 43, name);

    // And the whole login works, the code grant authenticated the same way.
    const { jar, csrf } = await signIn(base);
    assert.equal((await post(jar, base, "/auth/refresh", csrf)).status, 204);
    const grants = (await calls()).slice(seen).filter((c) => c.path === "/token");
    assert.deepEqual(grants.map((c) => c.status), [200, 200]);
    for (const c of grants) assert.equal(decode(c.assertion).payload.aud, ISSUER);
  });

  test("attack: the SPA cannot push parameters beyond the allow-list", async () => {
    for (const name of ["redirect_uri", "request_uri", "request", "scope", "client_id", "response_mode", "client_assertion"]) {
      const seen = (await calls()).length;
      const res = await loginStart(base, { extraParams: { [name]: "https://evil.example/cb" } });
      assert.equal(res.status, 400, name);
      assert.equal((await res.json()).code, "invalid_request", name);
      assert.equal((await calls()).length, seen, `${name}: nothing was pushed`);
    }
    // An allowed parameter cannot smuggle another one in its value.
    const seen = (await calls()).length;
    const smuggled = "demo&redirect_uri=https://evil.example/cb&scope=openid admin";
    const res = await loginStart(base, { extraParams: { login_hint: smuggled } });
    assert.equal(res.status, 200);
    const [pushed] = (await calls()).slice(seen);
    assert.equal(pushed.params.login_hint, smuggled);
    assert.equal(pushed.params.redirect_uri, `${base}/callback`);
    assert.equal(pushed.params.scope, "openid profile email");
  });
});

describe("a key the provider does not know", () => {
  const port = WORKER_PORT + 2;
  const base = origin(port);
  worker(port, { OIDC_CLIENT_KEY: WRONG_JWK });

  test("attack: the provider refuses the client and the user gets a fixed JSON error", async () => {
    const jar = new CookieJar();
    const headers = { origin: base, "content-type": "application/json" };
    const start = await jar.fetch(`${base}/auth/login/start`, { method: "POST", headers, body: "{}" });
    assert.equal(start.status, 200);
    const callback = await loginAtIdp(jar, (await start.json()).authorizationUrl, {
      callbackPrefix: `${base}/callback`,
    });
    const end = await jar.fetch(`${base}/auth/login/end`, {
      method: "POST",
      headers,
      body: JSON.stringify({ pageUrl: callback }),
    });
    assert.equal(end.status, 502);
    assert.deepEqual(await end.json(), { code: "idp_rejected_client", message: "the identity provider does not accept this deployment's client: the operator must fix it" });
    const last = (await calls()).at(-1);
    assert.deepEqual([last.path, last.status, last.error], ["/token", 401, "invalid_client"]);
  });
});

describe("a provider that requires PAR of the client", () => {
  const port = WORKER_PORT + 3;
  const base = origin(port);
  worker(port, { OIDC_CLIENT_ID: "edgeward-par", OIDC_CLIENT_AUTH: "client_secret_basic", OIDC_CLIENT_SECRET: "integration-test-secret", OIDC_PAR: "always" });

  test("an authorization request not pushed is refused; the pushed one signs in", async () => {
    const unpushed = new URL(`${ISSUER}/auth`);
    for (const [k, v] of Object.entries({
      response_type: "code",
      client_id: "edgeward-par",
      redirect_uri: `${base}/callback`,
      scope: "openid",
      state: "s".repeat(43),
      code_challenge: "c".repeat(43),
      code_challenge_method: "S256",
    }))
      unpushed.searchParams.set(k, v);
    const refused = await fetch(unpushed, { redirect: "manual" });
    const where = new URL(refused.headers.get("location") ?? "http://none/", ISSUER);
    assert.equal(where.searchParams.get("error"), "invalid_request", "the provider requires PAR");

    const { jar, csrf } = await signIn(base);
    assert.equal((await post(jar, base, "/auth/refresh", csrf)).status, 204);
  });
});

describe("a provider whose discovery requires PAR, OIDC_PAR unset (auto)", () => {
  const port = WORKER_PORT + 4;
  const base = origin(port);
  before(async () => {
    // The same IdP restarted with PAR required of every client, said in its discovery.
    await idp.stop();
    idp = await startIdp({ IDP_KEY_CLIENT_JWKS: JSON.stringify(publicJwks), IDP_REQUIRE_PAR: "1" });
  });
  worker(port, { OIDC_CLIENT_KEY: EC_PRIVATE_JWK });

  test("discovery says PAR is required: login pushes, with private_key_jwt, and signs in", async () => {
    const discovery = await (await fetch(`${ISSUER}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.require_pushed_authorization_requests, true);
    const start = await loginStart(base, {});
    const text = await start.text();
    assert.equal(start.status, 200, text);
    const url = new URL(JSON.parse(text).authorizationUrl);
    assert.deepEqual([...url.searchParams.keys()].sort(), ["client_id", "request_uri"]);
    const pushed = (await calls()).at(-1);
    assert.deepEqual([pushed.path, pushed.status], ["/request", 201]);
    assert.equal(decode(pushed.assertion).payload.aud, `${ISSUER}/token`);

    const { jar, csrf } = await signIn(base);
    assert.equal((await post(jar, base, "/auth/refresh", csrf)).status, 204);
  });
});
