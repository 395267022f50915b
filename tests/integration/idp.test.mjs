// The local IdP fixture behaves like a strict production IdP: PKCE enforced, refresh tokens
// rotated, reuse of a rotated token revokes the grant, revocation and introspection work.
// (Driven directly, without the worker, so a fixture regression is told apart from ours.)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startIdp, ISSUER, ORIGIN, CLIENT_SECRET } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { loginAtIdp } from "../support/idp-login.mjs";

let idp;
before(async () => {
  idp = await startIdp();
});
after(async () => {
  await idp?.stop();
});

const b64url = (buf) => buf.toString("base64url");
const basic = `Basic ${Buffer.from(`edgeward:${CLIENT_SECRET}`).toString("base64")}`;

async function post(path, form) {
  const res = await fetch(`${ISSUER}${path}`, {
    method: "POST",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function authorizationUrl({ challenge, state = "s", scope = "openid profile email" }) {
  const url = new URL(`${ISSUER}/auth`);
  const params = {
    response_type: "code",
    client_id: "edgeward",
    redirect_uri: `${ORIGIN}/callback`,
    scope,
    state,
    nonce: "n",
  };
  if (challenge) Object.assign(params, { code_challenge: challenge, code_challenge_method: "S256" });
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

async function codeFlow() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  const callback = await loginAtIdp(new CookieJar(), authorizationUrl({ challenge }), {
    callbackPrefix: `${ORIGIN}/callback`,
  });
  const params = new URL(callback).searchParams;
  assert.equal(params.get("state"), "s");
  assert.equal(params.get("iss"), ISSUER, "RFC 9207 iss in the response");
  return { code: params.get("code"), verifier };
}

test("code flow with PKCE gives access, refresh and ID tokens; a code works once", async () => {
  const { code, verifier } = await codeFlow();
  const redirect_uri = `${ORIGIN}/callback`;
  const tokens = await post("/token", { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  for (const t of ["access_token", "refresh_token", "id_token"]) assert.ok(tokens.body[t], t);
  const replay = await post("/token", { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri });
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, "invalid_grant");
});

test("a wrong PKCE verifier is refused", async () => {
  const { code } = await codeFlow();
  const res = await post("/token", {
    grant_type: "authorization_code",
    code,
    code_verifier: b64url(randomBytes(32)),
    redirect_uri: `${ORIGIN}/callback`,
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error, "invalid_grant");
});

test("an authorization request without PKCE is refused", async () => {
  const res = await fetch(authorizationUrl({}), { redirect: "manual" });
  const location = new URL(res.headers.get("location"));
  assert.equal(location.searchParams.get("error"), "invalid_request");
});

test("refresh rotates; reusing the old refresh token revokes the grant", async () => {
  const { code, verifier } = await codeFlow();
  const first = await post("/token", {
    grant_type: "authorization_code",
    code,
    code_verifier: verifier,
    redirect_uri: `${ORIGIN}/callback`,
  });
  const rt1 = first.body.refresh_token;
  const second = await post("/token", { grant_type: "refresh_token", refresh_token: rt1 });
  assert.equal(second.status, 200);
  const rt2 = second.body.refresh_token;
  assert.notEqual(rt2, rt1, "rotated");
  const active = await post("/token/introspection", { token: second.body.access_token });
  assert.equal(active.body.active, true);
  assert.equal(active.body.sub, "demo");

  const reuse = await post("/token", { grant_type: "refresh_token", refresh_token: rt1 });
  assert.equal(reuse.status, 400);
  // Reuse is treated as theft: the rotated token is dead too.
  const after = await post("/token", { grant_type: "refresh_token", refresh_token: rt2 });
  assert.equal(after.status, 400);
});

test("revocation makes a refresh token unusable; grants are counted", async () => {
  const before = (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants;
  const { code, verifier } = await codeFlow();
  const tokens = await post("/token", {
    grant_type: "authorization_code",
    code,
    code_verifier: verifier,
    redirect_uri: `${ORIGIN}/callback`,
  });
  const revoke = await post("/token/revocation", { token: tokens.body.refresh_token, token_type_hint: "refresh_token" });
  assert.equal(revoke.status, 200);
  const refresh = await post("/token", { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token });
  assert.equal(refresh.status, 400);
  const stats = (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants;
  assert.equal(stats.authorization_code, (before.authorization_code ?? 0) + 1);
});

test("wrong credentials at the login form are refused", async () => {
  await assert.rejects(
    loginAtIdp(new CookieJar(), authorizationUrl({ challenge: b64url(randomBytes(32)) }), {
      password: "wrong",
      callbackPrefix: `${ORIGIN}/callback`,
    }),
    /refused the credentials/,
  );
});
