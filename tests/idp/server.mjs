// The local identity provider: the OpenID Certified npm package `oidc-provider`, configured as
// the IdP a token handler meets in production — confidential client, PKCE required, refresh-token
// rotation, introspection, revocation, RP-initiated logout — plus a plain login form.
//
// Used by the dev command (scripts/dev.sh) and by the integration tests. Settings come from the
// environment (defaults suit the local stack):
//   IDP_PORT            9000
//   IDP_ISSUER          http://localhost:9000   (localhost, not 127.0.0.1: same site as the app)
//   APP_ORIGIN          http://localhost:8787
//   APP_EXTRA_ORIGINS   (none)                  more app origins, comma-separated (tests)
//   IDP_CLIENT_ID       edgeward
//   IDP_CLIENT_SECRET   local-dev-secret        (the worker's OIDC_CLIENT_SECRET)
//   IDP_PHANTOM_AUDIENCE http://localhost:8081  (`aud` of the JWTs JWT introspection returns)
//   IDP_CLAIMS_AT_USERINFO (off)                `1`: the profile and e-mail claims only at
//                                               userinfo, none in the ID token (oidc-provider's
//                                               default, `conformIdTokenClaims`)
//   IDP_KEY_CLIENT_JWKS (none)                  a public JWKS (JSON): registers `edgeward-jwt`, a
//                                               client authenticating with private_key_jwt
//                                               (RFC 7523), and `edgeward-par` (secret basic,
//                                               pushed authorization requests required, RFC 9126)
//   IDP_REDIRECT_PATHS  /callback               the paths on each app origin the worker's client
//                                               may be sent back to, comma-separated (the token
//                                               broker's third-party provider: /connections/callback)
//   IDP_REQUIRE_PAR     (off)                   1: every client must push its authorization
//                                               requests, and discovery says so
//   IDP_STATE_FILE      (none)                  a file the provider's store is written to after
//                                               every change and read from at start: grants,
//                                               codes and tokens survive a restart (fault tests)
//   IDP_KEYS_FILE       (none)                  the signing keys, read from this file when it
//                                               exists, else made and written there: the same
//                                               keys after a restart (delete it to rotate)
//
// Client authentication (only with IDP_KEY_CLIENT_JWKS): GET /_test/client-calls lists every
// call to the token, revocation, introspection and PAR endpoints (path, client assertion, the
// pushed parameters); POST /_test/replay-assertion {on} makes each call carry the previous
// call's client assertion instead of its own (a replayed `jti`, which the provider refuses).
//
// Phantom tokens, Curity style: an introspection request with `Accept: application/jwt` is
// answered with a JWT carrying the token's claims, signed with the IdP's RS256 key (204 when
// the token is not active), which is what the worker's `introspect-jwt` mode asks for.
//
// Tokens of other kinds, clients and audiences, for the tests that show the worker refuses
// them: the client credentials grant is on for the worker's client and for a second client,
// `other-client` (secret `other-client-secret`), and a client-credentials token may be asked for
// any http(s) resource (RFC 8707), which then is its `aud`. The login flow asks for none, so the
// worker's own access tokens name no audience (oidc-provider's tokens for userinfo). A service
// client, `svc-batch` (secret `svc-batch-secret`), has only the client credentials grant; with
// a resource ending in `?format=jwt` its token is an RFC 9068 JWT (`at+jwt`), else opaque.
//
// Test hooks, local only: GET /_test/stats counts successful token grants by grant type;
// POST /_test/sign-logout-token signs the claims it is given with the IdP's key;
// POST /_test/token-delay {ms, after} makes the token endpoint answer that much later (0: at
// once): before it handles the request, or with `after: true` once it has (a refresh token is
// then already rotated when the answer is held back);
// POST /_test/access-token-ttl {seconds} sets the life of access tokens issued from then on;
// POST /_test/userinfo-sub {sub} makes userinfo answer with that `sub` (null: the real one).
// Accounts: demo / demo and alice / alice (local only, never deploy this file).

import http from "node:http";
import crypto from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import Provider, { errors } from "oidc-provider";

const env = (name, fallback) => process.env[name] || fallback;
const port = Number(env("IDP_PORT", "9000"));
const issuer = env("IDP_ISSUER", `http://localhost:${port}`);
const appOrigin = env("APP_ORIGIN", "http://localhost:8787");
// More origins the client may be redirected back to (tests run extra workers on other ports).
const appOrigins = [appOrigin, ...env("APP_EXTRA_ORIGINS", "").split(",").filter(Boolean)];
const clientId = env("IDP_CLIENT_ID", "edgeward");
const redirectPaths = env("IDP_REDIRECT_PATHS", "/callback").split(",").filter(Boolean);
const clientSecret = env("IDP_CLIENT_SECRET", "local-dev-secret");
const phantomAudience = env("IDP_PHANTOM_AUDIENCE", "http://localhost:8081");
const keyClientJwks = process.env.IDP_KEY_CLIENT_JWKS ? JSON.parse(process.env.IDP_KEY_CLIENT_JWKS) : undefined;

const users = new Map([
  [
    "demo",
    {
      password: "demo",
      claims: {
        sub: "demo",
        name: "Demo User",
        preferred_username: "demo",
        email: "demo@example.com",
        email_verified: true,
      },
    },
  ],
  [
    // A second user, for tests where two people's sessions meet (local only, like demo).
    "alice",
    {
      password: "alice",
      claims: {
        sub: "alice",
        name: "Alice Example",
        preferred_username: "alice",
        email: "alice@example.com",
        email_verified: true,
      },
    },
  ],
]);

// Storage in a plain Map: the default in-memory store evicts after 1,000 entries, which long
// test runs reach.
const stateFile = process.env.IDP_STATE_FILE;
const store = new Map(stateFile && existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, "utf8")) : []);
/** Writes the store to IDP_STATE_FILE (whole, then renamed: a kill never leaves half a file). */
function persist() {
  if (!stateFile) return;
  writeFileSync(`${stateFile}.tmp`, JSON.stringify([...store]));
  renameSync(`${stateFile}.tmp`, stateFile);
}
class MapAdapter {
  constructor(model) {
    this.model = model;
  }
  key(id) {
    return `${this.model}:${id}`;
  }
  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
    store.set(this.key(id), { payload, expiresAt });
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const ids = store.get(grantKey)?.payload ?? [];
      ids.push(this.key(id));
      store.set(grantKey, { payload: ids });
    }
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, { payload: id });
    if (payload.uid) store.set(`uid:${payload.uid}`, { payload: id });
    persist();
  }
  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt && entry.expiresAt < Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }
  async findByUserCode(userCode) {
    const id = store.get(`userCode:${userCode}`)?.payload;
    return id && this.find(id);
  }
  async findByUid(uid) {
    const id = store.get(`uid:${uid}`)?.payload;
    return id && this.find(id);
  }
  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    persist();
  }
  async destroy(id) {
    store.delete(this.key(id));
    persist();
  }
  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const key of store.get(grantKey)?.payload ?? []) store.delete(key);
    store.delete(grantKey);
    persist();
  }
}

// Fresh signing keys at every start (RS256 for ID tokens by default, ES256 available).
const jwk = (type, options) => ({
  ...crypto.generateKeyPairSync(type, options).privateKey.export({ format: "jwk" }),
  kid: crypto.randomBytes(8).toString("hex"),
});
const keysFile = process.env.IDP_KEYS_FILE;
const keys =
  keysFile && existsSync(keysFile)
    ? JSON.parse(readFileSync(keysFile, "utf8"))
    : [jwk("rsa", { modulusLength: 2048 }), jwk("ec", { namedCurve: "P-256" })];
keys[0].alg = "RS256";
keys[0].use = "sig";
keys[1].alg = "ES256";
keys[1].use = "sig";
if (keysFile && !existsSync(keysFile)) writeFileSync(keysFile, JSON.stringify(keys));

const stats = { grants: {}, introspections: 0 };
/** How long the token endpoint waits before answering (POST /_test/token-delay). */
let tokenDelayMs = 0;
/** Whether that wait comes after the token endpoint has done its work. */
let tokenDelayAfter = false;

const b64url = (data) => Buffer.from(data).toString("base64url");
const signingKey = crypto.createPrivateKey({ key: keys[0], format: "jwk" });

/** `claims` as a JWT signed with the IdP's RS256 key. */
function signJwt(claims, typ = "JWT") {
  const header = { alg: "RS256", typ, kid: keys[0].kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(crypto.sign("sha256", Buffer.from(input), signingKey))}`;
}

/** The JWT a phantom-token IdP answers introspection with: the token's claims, signed. */
function phantomJwt(answer) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    // The token's audience if it has one (Curity style: the token's own claims).
    aud: answer.aud ?? phantomAudience,
    // Only access tokens have one here: oidc-provider gives refresh tokens none.
    token_type: answer.token_type,
    sub: answer.sub,
    scope: answer.scope,
    client_id: answer.client_id,
    exp: answer.exp,
    iat: now,
    jti: crypto.randomBytes(12).toString("base64url"),
  };
  return signJwt(claims);
}

let accessTokenTtl = Number(env("IDP_ACCESS_TOKEN_TTL", "300"));
/** The `sub` userinfo answers with instead of the real one (POST /_test/userinfo-sub). */
let userinfoSub = null;

/** The clients of the client-authentication suite: private_key_jwt, and PAR required. */
function keyClients(jwks) {
  const app = {
    redirect_uris: appOrigins.map((o) => `${o}/callback`),
    post_logout_redirect_uris: appOrigins.map((o) => `${o}/`),
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  };
  return [
    {
      ...app,
      client_id: "edgeward-jwt",
      jwks,
      token_endpoint_auth_method: "private_key_jwt",
      introspection_endpoint_auth_method: "private_key_jwt",
      revocation_endpoint_auth_method: "private_key_jwt",
    },
    {
      ...app,
      client_id: "edgeward-par",
      client_secret: clientSecret,
      token_endpoint_auth_method: "client_secret_basic",
      require_pushed_authorization_requests: true,
    },
  ];
}

/** Calls to the client-authenticated endpoints (GET /_test/client-calls). */
const clientCalls = [];
let replayAssertions = false;
const clientAuthPaths = new Set(["/token", "/token/revocation", "/token/introspection", "/request"]);

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  jwks: { keys },
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: appOrigins.flatMap((o) => redirectPaths.map((p) => `${o}${p}`)),
      post_logout_redirect_uris: appOrigins.map((o) => `${o}/`),
      grant_types: ["authorization_code", "refresh_token", "client_credentials"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      introspection_endpoint_auth_method: "client_secret_basic",
      revocation_endpoint_auth_method: "client_secret_basic",
      // OpenID Connect Back-Channel Logout: the IdP tells the worker when a session ends here.
      backchannel_logout_uri: `${appOrigin}/auth/backchannel-logout`,
      backchannel_logout_session_required: true,
    },
    {
      // Another client of this IdP (a machine client): the worker must not exchange its tokens
      // unless EDGEWARD_TOKEN_CLIENT_IDS lists it.
      client_id: "other-client",
      client_secret: "other-client-secret",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
    },
    {
      // A service client (README "Service clients"): client credentials only, its tokens asked
      // for an API (RFC 8707 resource) with the API's scope. Accepted by the worker when
      // EDGEWARD_TOKEN_CLIENT_IDS lists it.
      client_id: "svc-batch",
      client_secret: "svc-batch-secret",
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
    },
    ...(keyClientJwks ? keyClients(keyClientJwks) : []),
  ],
  pkce: { required: () => true },
  findAccount: async (_ctx, id) => {
    const user = users.get(id);
    return user && { accountId: id, claims: async () => ({ ...user.claims }) };
  },
  claims: {
    openid: ["sub"],
    profile: ["name", "preferred_username"],
    email: ["email", "email_verified"],
  },
  scopes: ["openid", "profile", "email", "offline_access"],
  // Put the granted scopes' claims (name, email) in the ID token, as most IdPs do; the
  // default (IDP_CLAIMS_AT_USERINFO=1) delivers them only from userinfo in the code flow.
  conformIdTokenClaims: env("IDP_CLAIMS_AT_USERINFO", "") === "1",
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true, allowedPolicy: async () => true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Any http(s) URL names an API here (a real IdP knows its APIs): its token's `aud`. Its
      // scopes: `openid` and `api:read` (what a service client asks for). With the query
      // `?format=jwt` the token is an RFC 9068 JWT (header `typ: at+jwt`, RS256) for the URL
      // without the query, else opaque: so a service client's token can take either path.
      getResourceServerInfo: async (_ctx, resource) => {
        if (!/^https?:\/\//.test(resource)) throw new errors.InvalidTarget();
        const [audience, query = ""] = resource.split("?");
        const jwt = new URLSearchParams(query).get("format") === "jwt";
        return {
          scope: "openid api:read",
          audience,
          accessTokenFormat: jwt ? "jwt" : "opaque",
          ...(jwt ? { jwt: { sign: { alg: "RS256" } } } : {}),
        };
      },
    },
    revocation: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: env("IDP_REQUIRE_PAR", "") === "1" },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Our own page: the default one loads a web font, which a closed network waits for.
      logoutSource: async (ctx, form) => {
        ctx.body = page(
          "Sign out — local IdP",
          `<div class="box"><h1>Sign out of the local IdP?</h1>${form}
  <button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
  <button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button></div>`,
        );
      },
    },
  },
  // The provider refuses to call loopback addresses (SSRF protection); this local IdP must call
  // the worker on localhost for back-channel logout, so its outgoing requests skip that check.
  fetch: (url, options) => {
    delete options.dispatcher;
    return fetch(url, options);
  },
  // Rotate on every use; reusing a rotated token revokes the grant (as strict IdPs do).
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  // First-party client: no consent screen. The grant covers the scopes the client asked for.
  loadExistingGrant: async (ctx) => {
    const grantId =
      ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(String(ctx.oidc.params.scope || "openid"));
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: {
    // Cookies are per host, not per port: our names cannot collide with the app's.
    names: { session: "idp_session", interaction: "idp_interaction", resume: "idp_resume" },
    keys: [crypto.randomBytes(32).toString("hex")],
  },
  ttl: {
    // A function, so a test can change it while the IdP runs (POST /_test/access-token-ttl).
    AccessToken: () => accessTokenTtl,
    IdToken: 3600,
    RefreshToken: 24 * 3600,
    Interaction: 600,
    Session: 24 * 3600,
    Grant: 24 * 3600,
  },
});
provider.proxy = false;
provider.on("backchannel.error", (_ctx, error, clientId) =>
  console.error(`idp: back-channel logout to ${clientId?.clientId ?? clientId} failed: ${error.message} ${error.cause?.message ?? ""}`),
);
provider.on("backchannel.success", (_ctx, clientId) => console.log(`idp: back-channel logout sent to ${clientId}`));

const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body{font-family:system-ui,sans-serif;background:#eef1f6;margin:0;display:grid;place-items:center;min-height:100vh}
form,.box{background:#fff;padding:2rem;border-radius:12px;box-shadow:0 2px 10px rgb(0 0 0/.08);min-width:18rem}
h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin:.6rem 0 .2rem}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{margin-top:1rem;width:100%;padding:.6rem;font-size:1rem;background:#2f5fd0;color:#fff;border:0;border-radius:6px}
button.secondary{background:#e4e8f0;color:#1d2330}
.error{color:#b3261e}.hint{color:#5b6475;font-size:.85rem}
</style></head><body>${body}</body></html>`;

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const loginForm = (uid, error) =>
  page(
    "Sign in — local IdP",
    `<form method="post" action="/interaction/${uid}/login" autocomplete="off">
  <h1>Sign in to the local IdP</h1>
  ${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ""}
  <label for="username">User name</label><input id="username" name="username" required autofocus>
  <label for="password">Password</label><input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
  <p class="hint">Local development IdP (oidc-provider). Demo account: demo / demo.</p>
</form>`,
  );

async function readForm(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error("form too large");
  }
  return new URLSearchParams(body);
}

// Interactions (login) and test hooks, in front of the provider's own routes.
provider.use(async (ctx, next) => {
  const login = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (login) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== login[1]) ctx.throw(400, "interaction mismatch");
    if (ctx.method === "GET" && !login[2]) {
      if (details.prompt.name !== "login") {
        // Consent is covered by loadExistingGrant; anything else just continues.
        return provider.interactionFinished(ctx.req, ctx.res, {}, { mergeWithLastSubmission: true });
      }
      ctx.type = "html";
      ctx.body = loginForm(details.uid);
      return;
    }
    if (ctx.method === "POST" && login[2]) {
      const form = await readForm(ctx.req);
      const username = form.get("username") ?? "";
      const user = users.get(username);
      if (!user || user.password !== form.get("password")) {
        ctx.status = 401;
        ctx.type = "html";
        ctx.body = loginForm(details.uid, "Wrong user name or password.");
        return;
      }
      return provider.interactionFinished(
        ctx.req,
        ctx.res,
        { login: { accountId: username } },
        { mergeWithLastSubmission: false },
      );
    }
  }
  // Test hook: access tokens issued from now on live this many seconds.
  if (ctx.path === "/_test/access-token-ttl" && ctx.method === "POST") {
    let body = "";
    for await (const chunk of ctx.req) body += chunk;
    accessTokenTtl = Number(JSON.parse(body).seconds);
    ctx.body = { seconds: accessTokenTtl };
    return;
  }
  if (ctx.path === "/_test/userinfo-sub" && ctx.method === "POST") {
    let body = "";
    for await (const chunk of ctx.req) body += chunk;
    userinfoSub = JSON.parse(body).sub ?? null;
    ctx.status = 204;
    return;
  }
  if (ctx.path === "/_test/stats" && ctx.method === "GET") {
    ctx.body = stats;
    return;
  }
  // Test hook: any claims signed with this IdP's key, as a logout token (to show that the
  // worker refuses replays and tokens that are not logout tokens).
  if (ctx.path === "/_test/sign-logout-token" && ctx.method === "POST") {
    let body = "";
    for await (const chunk of ctx.req) body += chunk;
    ctx.body = { token: signJwt(JSON.parse(body), "logout+jwt") };
    return;
  }
  if (ctx.path === "/_test/token-delay" && ctx.method === "POST") {
    let body = "";
    for await (const chunk of ctx.req) body += chunk;
    const asked = JSON.parse(body);
    tokenDelayMs = Math.max(0, Number(asked.ms) || 0);
    tokenDelayAfter = Boolean(asked.after);
    ctx.status = 204;
    return;
  }
  if (keyClientJwks && ctx.path === "/_test/client-calls" && ctx.method === "GET") {
    ctx.body = clientCalls;
    return;
  }
  if (keyClientJwks && ctx.path === "/_test/replay-assertion" && ctx.method === "POST") {
    let body = "";
    for await (const chunk of ctx.req) body += chunk;
    replayAssertions = Boolean(JSON.parse(body).on);
    ctx.status = 204;
    return;
  }
  let call;
  if (keyClientJwks && clientAuthPaths.has(ctx.path) && ctx.method === "POST") {
    // Read the form here (the provider takes a parsed body as it is): to record it, and to
    // swap in the previous call's assertion when asked to replay.
    const form = Object.fromEntries(await readForm(ctx.req));
    const previous = clientCalls.findLast((c) => c.assertion)?.assertion;
    if (replayAssertions && form.client_assertion && previous) form.client_assertion = previous;
    ctx.req.body = form;
    const { client_assertion: assertion, ...params } = form;
    call = { path: ctx.path, assertion, params: ctx.path === "/request" ? params : undefined };
    clientCalls.push(call);
  }
  const holdToken = ctx.path === "/token" && tokenDelayMs > 0;
  if (holdToken && !tokenDelayAfter) await new Promise((r) => setTimeout(r, tokenDelayMs));
  const introspection = ctx.path === "/token/introspection" && ctx.method === "POST";
  const wantsJwt = introspection && /application\/jwt/.test(ctx.get("accept"));
  // The provider itself answers JSON; the JWT is made from its answer.
  if (wantsJwt) ctx.req.headers.accept = "application/json";
  await next();
  if (holdToken && tokenDelayAfter) await new Promise((r) => setTimeout(r, tokenDelayMs));
  if (wantsJwt && ctx.status === 200) {
    stats.jwtIntrospections = (stats.jwtIntrospections ?? 0) + 1;
    if (ctx.body?.active) {
      ctx.type = "application/jwt";
      ctx.body = phantomJwt(ctx.body);
    } else {
      ctx.status = 204;
      ctx.body = null;
      stats.introspections += 1;
    }
  }
  if (ctx.path === "/me" && ctx.status === 200) {
    stats.userinfo = (stats.userinfo ?? 0) + 1;
    if (userinfoSub !== null) ctx.body = { ...ctx.body, sub: userinfoSub };
  }
  if (ctx.path === "/token" && ctx.status === 200) {
    const type = ctx.oidc?.params?.grant_type ?? "unknown";
    stats.grants[type] = (stats.grants[type] ?? 0) + 1;
  }
  if (ctx.path === "/token/introspection" && ctx.status === 200) stats.introspections += 1;
  if (call) {
    call.status = ctx.status;
    call.error = ctx.body?.error;
  }
});

const handler = provider.callback();
for (const host of ["127.0.0.1", "::1"]) {
  const server = http.createServer(handler);
  server.on("error", (e) => {
    // ::1 may be missing where IPv6 is off; 127.0.0.1 is enough then.
    if (host === "::1" && (e.code === "EADDRNOTAVAIL" || e.code === "EAFNOSUPPORT")) return;
    console.error(`idp: cannot listen on ${host}:${port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    if (host === "127.0.0.1") console.log(`idp: ${issuer} ready (client ${clientId})`);
  });
}
