// introspect-jwt mode, the shared cache tier (Workers Cache API) and bearer clients, against
// workerd, the real IdP (answering `Accept: application/jwt` introspection with a signed JWT,
// Curity style) and the example API trusting the IdP's keys instead of the worker's.
//
// The isolate's memory cache is off here (EDGEWARD_PHANTOM_CACHE_ENTRIES=0), so a second call
// that does not introspect was answered by the Cache API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useStack, ORIGIN, ISSUER, API, API_ROUTES, CLIENT_SECRET } from "../support/stack.mjs";
import { signIn, openCookie } from "../support/session.mjs";
import { clientToken, tokensNotForUs } from "../support/tokens.mjs";

useStack({
  idp: { IDP_PHANTOM_AUDIENCE: API },
  worker: {
    vars: {
      EDGEWARD_PHANTOM_MODE: "introspect-jwt",
      EDGEWARD_PHANTOM_CACHE_ENTRIES: "0",
      // Bearer clients on every route (README "Service clients").
      EDGEWARD_API_ROUTES: JSON.stringify(JSON.parse(API_ROUTES).map((r) => ({ ...r, clients: ["browser", "service"] }))),
    },
  },
  api: { trust: "idp" },
});

const stats = async () => (await fetch(`${ISSUER}/_test/stats`)).json();
const jwtPart = (jwt, i) => JSON.parse(Buffer.from(jwt.split(".")[i], "base64url").toString());

test("introspect-jwt: the API gets the IdP's own JWT, and the Cache API spares the second introspection", async () => {
  const { jar } = await signIn();
  const before = (await stats()).jwtIntrospections ?? 0;
  const res = await jar.fetch(`${ORIGIN}/api/whoami`);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.sub, "demo");
  assert.equal(body.issuer, ISSUER, "signed by the IdP, not minted by the worker");
  assert.equal(body.audience, API);
  const jwt = body.request.headers.authorization.replace(/^Bearer /, "");
  assert.equal(jwtPart(jwt, 0).alg, "RS256");
  assert.equal(jwtPart(jwt, 1).iss, ISSUER);
  assert.equal(body.request.headers.cookie, undefined);
  assert.equal((await stats()).jwtIntrospections, before + 1);

  const again = await jar.fetch(`${ORIGIN}/api/whoami`);
  const second = await again.json();
  assert.equal(again.status, 200);
  assert.equal(second.request.headers.authorization, `Bearer ${jwt}`, "the same JWT, from the cache");
  assert.equal((await stats()).jwtIntrospections, before + 1, "no second introspection");

  // The worker mints nothing in this mode, so it publishes no keys.
  assert.equal((await fetch(`${ORIGIN}/.well-known/jwks.json`)).status, 404);
});

test("bearer clients (no cookies) go through on routes for service clients; a bad token is 401", async () => {
  const { jar } = await signIn();
  const access = openCookie("__Host-edgeward-at", jar.get(ORIGIN, "__Host-edgeward-at").value);
  assert.ok(access.token && !access.token.startsWith("eyJ"), "the IdP's access token is opaque");

  const authorization = `Bearer ${access.token}`;
  const res = await fetch(`${ORIGIN}/api/whoami`, { headers: { authorization } });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.sub, "demo");
  assert.notEqual(body.request.headers.authorization, authorization, "exchanged, not passed on");

  // No cookies, so no Origin or CSRF header is needed for a POST.
  const post = await fetch(`${ORIGIN}/api/echo/x`, { method: "POST", headers: { authorization }, body: "hi" });
  assert.equal(post.status, 200);
  assert.equal((await post.json()).request.body, "hi");

  const bad = await fetch(`${ORIGIN}/api/whoami`, { headers: { authorization: "Bearer not-a-token" } });
  assert.equal(bad.status, 401);
  assert.equal((await bad.json()).code, "invalid_token");
});

test("introspect-jwt: a refresh token, another client's token and one for another API are refused", async () => {
  const { jar } = await signIn();
  const attacks = await tokensNotForUs(jar);
  // Every attack's outcome at once, so a failure shows all of them.
  const outcomes = [];
  for (const [what, token] of attacks) {
    const res = await fetch(`${ORIGIN}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    outcomes.push(`${what}: ${res.status} ${body.code ?? `(the API answered, sub ${body.sub})`}`);
  }
  assert.deepEqual(outcomes, attacks.map(([what]) => `${what}: 401 invalid_token`));
});

test("introspect-jwt: a service client's JWT access token is checked at the edge and forwarded as it came", async () => {
  // The worker's own client, so no EDGEWARD_TOKEN_CLIENT_IDS is needed; `?format=jwt` makes the
  // local IdP issue an RFC 9068 JWT for the API.
  const token = await clientToken("edgeward", CLIENT_SECRET, `${API}?format=jwt`);
  assert.equal(JSON.parse(Buffer.from(token.split(".")[0], "base64url")).typ, "at+jwt");
  const before = (await stats()).jwtIntrospections ?? 0;
  const res = await fetch(`${ORIGIN}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.request.headers.authorization, `Bearer ${token}`, "the IdP's JWT, as it came");
  assert.equal(body.issuer, ISSUER);
  assert.equal(body.sub, "edgeward");
  assert.equal((await stats()).jwtIntrospections ?? 0, before, "no introspection");

  // The same kind of token for another API is refused at the edge.
  const other = await clientToken("edgeward", CLIENT_SECRET, "https://other-api.example/?format=jwt");
  const refused = await fetch(`${ORIGIN}/api/whoami`, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).code, "invalid_token");
  assert.equal(refused.headers.get("www-authenticate"), 'Bearer error="invalid_token"');
});
