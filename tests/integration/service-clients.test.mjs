// Service clients (README "Service clients"): a client-credentials token from the local IdP, as
// `Authorization: Bearer`, on routes whose `clients` include `service`, against workerd, the
// real IdP and the example API. The IdP issues the service client `svc-batch` a JWT access
// token (RFC 9068, `at+jwt`) when the resource ends in `?format=jwt`, else an opaque one: the
// first is checked at the edge against the IdP's keys, the second introspected; both are minted
// into the worker's token for the API. The route needs scope `api:read`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useStack, ORIGIN, ISSUER, API, API_ROUTES } from "../support/stack.mjs";
import { clientToken } from "../support/tokens.mjs";

const SCOPE = "api:read";
const routes = JSON.parse(API_ROUTES).map((r) =>
  r.prefix === "/api/whoami/" ? { ...r, clients: ["browser", "service"], scope: SCOPE } : r,
);

useStack({
  idp: true,
  worker: { vars: { EDGEWARD_API_ROUTES: JSON.stringify(routes), EDGEWARD_TOKEN_CLIENT_IDS: "svc-batch" } },
  api: true,
});

const SVC = ["svc-batch", "svc-batch-secret"];
const JWT_RESOURCE = `${API}?format=jwt`;
const stats = async () => (await fetch(`${ISSUER}/_test/stats`)).json();
const part = (jwt, i) => JSON.parse(Buffer.from(jwt.split(".")[i], "base64url").toString());
const whoami = (token) =>
  fetch(`${ORIGIN}/api/whoami`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

/** What the worker answered: status, code (or the API's `sub`), WWW-Authenticate. */
async function outcome(res) {
  const body = await res.json();
  return `${res.status} ${body.code ?? `sub=${body.sub}`} ${res.headers.get("www-authenticate") ?? "-"}`;
}

test("a JWT access token from the client-credentials grant is checked at the edge and reaches the API", async () => {
  const token = await clientToken(...SVC, JWT_RESOURCE, `openid ${SCOPE}`);
  assert.equal(part(token, 0).typ, "at+jwt", "the IdP issued an RFC 9068 JWT");
  assert.equal(part(token, 1).aud, API);
  const before = (await stats()).introspections;
  const res = await whoami(token);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.sub, "svc-batch", "the client is the subject (RFC 9068 §2.2)");
  assert.equal(body.issuer, ORIGIN, "minted by the worker");
  assert.equal(body.audience, API);
  assert.notEqual(body.request.headers.authorization, `Bearer ${token}`);
  assert.equal((await stats()).introspections, before, "no introspection for a JWT access token");
});

test("an opaque client-credentials token is introspected and reaches the API", async () => {
  const token = await clientToken(...SVC, API, `openid ${SCOPE}`);
  assert.ok(!token.startsWith("eyJ"), "opaque");
  const res = await whoami(token);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.sub, "svc-batch");
  assert.equal(body.issuer, ORIGIN);
});

test("another audience, a missing scope, another client and no token are refused as RFC 6750 says", async () => {
  const invalid = '401 invalid_token Bearer error="invalid_token"';
  const scope = `403 insufficient_scope Bearer error="insufficient_scope", scope="${SCOPE}"`;
  const cases = [
    ["JWT for another API", clientToken(...SVC, "https://other-api.example/?format=jwt", `openid ${SCOPE}`), invalid],
    ["opaque for another API", clientToken(...SVC, "https://other-api.example/", `openid ${SCOPE}`), invalid],
    ["JWT without the route's scope", clientToken(...SVC, JWT_RESOURCE, "openid"), scope],
    ["opaque without the route's scope", clientToken(...SVC, API, "openid"), scope],
    ["JWT of a client not listed", clientToken("other-client", "other-client-secret", JWT_RESOURCE, `openid ${SCOPE}`), invalid],
    ["not a token", "not-a-token", invalid],
    ["no token", undefined, "401 unauthorized Bearer"],
  ];
  const got = [];
  for (const [what, token] of cases) got.push(`${what}: ${await outcome(await whoami(await token))}`);
  assert.deepEqual(got, cases.map(([what, , want]) => `${what}: ${want}`));
});

test("a bearer token on a route without service clients is ignored, as before", async () => {
  const token = await clientToken(...SVC, `${API}?format=jwt`, `openid ${SCOPE}`);
  const res = await fetch(`${ORIGIN}/api/echo/x`, { headers: { authorization: `Bearer ${token}` } });
  // Its 401 carries the plain Bearer challenge every proxy 401 has (issue 18).
  assert.equal(await outcome(res), "401 unauthorized Bearer");
});
