// The token broker (issue 17) against `wrangler dev`: a second instance of the local IdP plays
// the third-party provider ("jira", its own issuer and port), with its own API fixture that
// accepts only that provider's active tokens (it introspects them there). A signed-in user
// connects the account; an API call through the connection route carries the provider's token;
// an access token near its end is refreshed once for parallel calls; a grant revoked at the
// provider turns into 401 connection_expired and `reauthorization_required`; disconnecting
// revokes at the provider; a service client gets the token of a user who granted it and the
// same refusal for one who did not and for one who does not exist. The Durable Object's files
// hold no token in clear, and no log line of the suite holds a token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { useStack, launch, waitFor, assertPortFree, ORIGIN, API_ROUTES, IDP_PORT, WORKER_PORT } from "../support/stack.mjs";
import { signIn } from "../support/session.mjs";
import { CookieJar } from "../support/jar.mjs";
import { loginAtIdp } from "../support/idp-login.mjs";

const THIRD_PORT = Number(process.env.TEST_THIRD_IDP_PORT || IDP_PORT + 1);
const THIRD = `http://localhost:${THIRD_PORT}`;
// The third-party API: one of the worker's spare ports (this suite's range).
const JIRA_API_PORT = WORKER_PORT + 1;
const JIRA_CLIENT = "edgeward-jira";
const JIRA_SECRET = `jira-${randomBytes(8).toString("hex")}`;
const BROKER_KEY_HEX = randomBytes(32).toString("hex");
const MCP_SECRET = randomBytes(32).toString("base64url");
const sha256 = (s) => createHash("sha256").update(s).digest("hex");

const ROUTES = JSON.stringify([
  ...JSON.parse(API_ROUTES),
  { prefix: "/api/jira/", upstream: `http://localhost:${JIRA_API_PORT}/`, methods: ["GET"], credential: { connection: "jira" } },
]);

// The third-party provider and its API, started before the worker (useStack's before hook runs
// after this one: node runs `before` hooks in the order they were registered).
const third = {};
const seen = []; // every token the fixture API was shown (to look for them in the logs)
before(async () => {
  await assertPortFree(THIRD_PORT, "the third-party IdP");
  third.idp = launch("idp-third", process.execPath, ["tests/idp/server.mjs"], {
    IDP_PORT: String(THIRD_PORT),
    IDP_ISSUER: THIRD,
    APP_ORIGIN: ORIGIN,
    IDP_CLIENT_ID: JIRA_CLIENT,
    IDP_CLIENT_SECRET: JIRA_SECRET,
  });
  await waitFor(`${THIRD}/.well-known/openid-configuration`, 15_000, "the third-party IdP");
  third.api = http.createServer(async (req, res) => {
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    seen.push(token);
    const active = token ? await introspect(token) : { active: false };
    res.writeHead(active.active ? 200 : 401, { "content-type": "application/json" });
    res.end(JSON.stringify(active.active ? { sub: active.sub, clientId: active.client_id, path: req.url } : { error: "invalid_token" }));
  });
  await new Promise((r) => third.api.listen(JIRA_API_PORT, "localhost", r));
});
after(async () => {
  third.api?.close();
  await third.idp?.stop();
});

const stack = useStack({
  idp: true,
  worker: {
    vars: {
      EDGEWARD_API_ROUTES: ROUTES,
      EDGEWARD_CONNECTIONS: JSON.stringify([
        {
          name: "jira",
          issuer: THIRD,
          clientId: JIRA_CLIENT,
          clientSecretVar: "EDGEWARD_CONNECTION_SECRET_JIRA",
          scopes: ["openid", "offline_access"],
          // The local IdP registers <origin>/callback for its client.
          redirectUri: `${ORIGIN}/callback`,
        },
      ]),
      EDGEWARD_CONNECTION_SECRET_JIRA: JIRA_SECRET,
      EDGEWARD_BROKER_KEYS: `b1:${BROKER_KEY_HEX}`,
      EDGEWARD_BROKER_CLIENTS: JSON.stringify([{ clientId: "mcp", secretSha256: sha256(MCP_SECRET), connections: ["jira"] }]),
    },
  },
});

/** The third-party provider's introspection, as its own API would ask it. */
async function introspect(token) {
  const res = await fetch(`${THIRD}/token/introspection`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${JIRA_CLIENT}:${JIRA_SECRET}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token }).toString(),
  });
  return res.json();
}

const thirdStats = async () => (await fetch(`${THIRD}/_test/stats`)).json();
const refreshGrants = async () => (await thirdStats()).grants.refresh_token ?? 0;
const setThirdAccessTtl = (seconds) =>
  fetch(`${THIRD}/_test/access-token-ttl`, { method: "POST", body: JSON.stringify({ seconds }) });

const post = (jar, path, csrf, body = {}) =>
  jar.fetch(`${ORIGIN}${path}`, {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": "application/json", "x-edgeward-csrf": csrf },
    body: JSON.stringify(body),
  });

/** Connects jira for the session `{jar, csrf}` of `user`, granting `grants`. */
async function connect({ jar, csrf }, user, grants = []) {
  const start = await post(jar, "/auth/connections/jira/start", csrf, { grants });
  const started = await start.json();
  assert.equal(start.status, 200, JSON.stringify(started));
  // The browser's leg at the provider in a jar of its own: both local IdPs run on localhost and
  // name their cookies alike (cookies are per host, not per port).
  const callback = await loginAtIdp(new CookieJar(), started.authorizationUrl, {
    username: user,
    password: user,
    callbackPrefix: `${ORIGIN}/callback`,
    issuer: THIRD,
  });
  const end = await post(jar, "/auth/connections/jira/end", csrf, { pageUrl: callback });
  const body = await end.json();
  assert.equal(end.status, 200, JSON.stringify(body));
  assert.equal(body.connection, "jira");
}

const listing = async (jar) => (await (await jar.fetch(`${ORIGIN}/auth/connections`)).json()).connections;

const brokerToken = (subject, secret = MCP_SECRET, client = "mcp") =>
  fetch(`${ORIGIN}/broker/token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString("base64")}`, "content-type": "application/json" },
    body: JSON.stringify({ connection: "jira", subject }),
  });

/** Every file under `dir`, as bytes. */
function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path)];
  });
}

/**
 * The sealed secrets of `user`'s jira records found in workerd's files (old copies may linger in
 * the database's free pages), oldest first: by the expiry in their clear label, which each seal
 * sets to its time plus a fixed term, then by their place in the files.
 */
function storedSealed(user) {
  const found = [];
  for (const bytes of filesUnder(stack.worker.persist)) {
    const text = bytes.toString("latin1");
    if (!text.includes(`conn:${sha256(user)}:jira`) && !text.includes('"name":"jira"')) continue;
    for (const m of text.matchAll(/"name":"jira"[^}]*?"sealed":"(3\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[0-9]+\.[A-Za-z0-9_-]+)"/g)) {
      try {
        openSealed(m[1], user);
        found.push(m[1]);
      } catch {}
    }
  }
  const exp = (sealed) => Number(sealed.split(".")[3]);
  return found.map((s, i) => [s, i]).sort((a, b) => exp(a[0]) - exp(b[0]) || a[1] - b[1]).map(([s]) => s);
}

/** Opens a sealed record (what only the worker's key can do: the test knows it). */
function openSealed(sealed, user) {
  const [, kid, tag, exp, payload] = sealed.match(/^3\.([^.]*)\.([^.]*)\.([^.]*)\.(.*)$/);
  const bytes = Buffer.from(payload, "base64url");
  const salt = bytes.subarray(0, 16);
  const prk = Buffer.from(BROKER_KEY_HEX, "hex");
  const info = Buffer.concat([Buffer.from("edgeward/cookie/3"), salt]);
  const t1 = createHmac("sha256", prk).update(Buffer.concat([info, Buffer.from([1])])).digest();
  const t2 = createHmac("sha256", prk).update(Buffer.concat([t1, info, Buffer.from([2])])).digest();
  const okm = Buffer.concat([t1, t2]);
  const decipher = createDecipheriv("aes-256-gcm", okm.subarray(0, 32), okm.subarray(32, 44));
  decipher.setAAD(Buffer.from(`edgeward/3/${kid}/${ORIGIN} edgeward-broker/connection/${sha256(user)}/jira/${tag}/${exp}`));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(16, bytes.length - 16)), decipher.final()]).toString());
}

const api = (jar) => jar.fetch(`${ORIGIN}/api/jira/issues`);

test("connect, call through the connection, refresh once for parallel calls, service tokens", async () => {
  const demo = await signIn(ORIGIN, { user: "demo" });
  // Not connected yet: the SPA is told to offer "connect".
  const before = await api(demo.jar);
  assert.equal(before.status, 401);
  assert.equal((await before.json()).code, "connection_required");

  // Access tokens of the provider live 30 s: under the worker's 60 s margin, so the first
  // call after connecting refreshes.
  await setThirdAccessTtl(30);
  await connect(demo, "demo", ["mcp"]);
  const [listed] = await listing(demo.jar);
  assert.equal(listed.status, "connected");
  assert.deepEqual(listed.grants, ["mcp"]);
  assert.ok(!JSON.stringify(listed).includes(seen[0] ?? "never"), "no token in the listing");

  await setThirdAccessTtl(3600);
  const grantsBefore = await refreshGrants();
  const answers = await Promise.all(Array.from({ length: 8 }, () => api(demo.jar)));
  for (const a of answers) assert.equal(a.status, 200, await a.clone().text());
  const bodies = await Promise.all(answers.map((a) => a.json()));
  assert.ok(bodies.every((b) => b.sub === "demo" && b.clientId === JIRA_CLIENT), JSON.stringify(bodies[0]));
  assert.equal((await refreshGrants()) - grantsBefore, 1, "one refresh grant for 8 parallel calls");
  // Fresh now: no more grants.
  assert.equal((await api(demo.jar)).status, 200);
  assert.equal((await refreshGrants()) - grantsBefore, 1);

  // A service the user granted gets the current access token, never a refresh token.
  const issued = await brokerToken("demo");
  const token = await issued.json();
  assert.equal(issued.status, 200, JSON.stringify(token));
  assert.equal(token.token_type, "Bearer");
  assert.ok(token.expires_in > 60 && token.expires_in <= 3600);
  assert.equal(token.refresh_token, undefined);
  assert.equal((await introspect(token.access_token)).active, true);
  seen.push(token.access_token);

  // Alice connects without granting it; carol never signed in: the same refusal for both.
  const alice = await signIn(ORIGIN, { user: "alice" });
  await connect(alice, "alice", []);
  const refusals = [];
  for (const subject of ["alice", "carol"]) {
    const r = await brokerToken(subject);
    refusals.push([r.status, await r.json()]);
  }
  assert.deepEqual(refusals[0], refusals[1]);
  assert.equal(refusals[0][0], 403);
  assert.equal(refusals[0][1].code, "not_granted");
  const wrong = await brokerToken("demo", "not-the-secret");
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).code, "invalid_client");

  // The Durable Object's files: the records are there, no token in clear.
  const stored = filesUnder(stack.worker.persist);
  assert.ok(stored.some((b) => b.includes(`conn:${sha256("demo")}:jira`)), "found the store");
  for (const t of new Set(seen.filter(Boolean))) {
    assert.ok(!stored.some((b) => b.includes(t)), "an access token is stored in clear");
  }
  const sealed = storedSealed("demo");
  assert.ok(sealed.length > 0, "found a sealed record");
  const secrets = openSealed(sealed.at(-1), "demo");
  assert.ok(secrets.refresh_token, "the record holds a refresh token, sealed");
  assert.ok(!stored.some((b) => b.includes(secrets.refresh_token)), "the refresh token is stored in clear");
  // Sealed for demo: it does not open as alice's.
  assert.throws(() => openSealed(sealed.at(-1), "alice"));
});

test("a grant revoked at the provider is connection_expired; disconnecting revokes there", async () => {
  const demo = await signIn(ORIGIN, { user: "demo" });
  await setThirdAccessTtl(30);
  await connect(demo, "demo", ["mcp"]);
  await setThirdAccessTtl(3600);
  assert.equal((await api(demo.jar)).status, 200);
  const { refresh_token: rt } = openSealed(storedSealed("demo").at(-1), "demo");
  assert.equal((await introspect(rt)).active, true);

  // Disconnect: 204, revoked at the provider, gone from the listing.
  const del = await demo.jar.fetch(`${ORIGIN}/auth/connections/jira`, {
    method: "DELETE",
    headers: { origin: ORIGIN, "x-edgeward-csrf": demo.csrf },
  });
  assert.equal(del.status, 204);
  assert.equal((await introspect(rt)).active, false, "the refresh token was revoked at the provider");
  assert.equal((await listing(demo.jar))[0].status, "not_connected");
  assert.equal((await api(demo.jar)).status, 401);

  // Connected again, then the grant is revoked at the provider behind the worker's back: the
  // next refresh is refused, the call is 401 connection_expired, the listing says so.
  await setThirdAccessTtl(30);
  await connect(demo, "demo", []);
  const { refresh_token: again } = openSealed(storedSealed("demo").at(-1), "demo");
  const revoke = await fetch(`${THIRD}/token/revocation`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${JIRA_CLIENT}:${JIRA_SECRET}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ token: again, token_type_hint: "refresh_token" }).toString(),
  });
  assert.equal(revoke.status, 200);
  const expired = await api(demo.jar);
  assert.equal(expired.status, 401);
  assert.equal((await expired.json()).code, "connection_expired");
  assert.equal((await listing(demo.jar))[0].status, "reauthorization_required");
  await setThirdAccessTtl(3600);
});

test("no log line of the suite holds a token", async () => {
  const logs = stack.worker.output() + stack.idp.output() + third.idp.output();
  const secrets = new Set([...seen.filter(Boolean), MCP_SECRET, JIRA_SECRET]);
  for (const sealed of storedSealed("demo")) {
    try {
      const s = openSealed(sealed, "demo");
      secrets.add(s.access_token);
      if (s.refresh_token) secrets.add(s.refresh_token);
    } catch {}
  }
  assert.ok(secrets.size > 3);
  for (const s of secrets) assert.ok(!logs.includes(s), "a token or secret is in a log line");
  assert.ok(logs.includes("broker: issued client=mcp connection=jira"), "the issuance was audited");
});
