// Key rotation, end to end, in the production-like runtime (one workerd): the cookie keys
// (`EDGEWARD_COOKIE_KEYS`) and the minting key (`EDGEWARD_MINT_KEY`) each go A → "B,A" → B.
// - Cookies: sessions sealed with A keep working under "B,A", and what is sealed then is sealed
//   with B; under B alone a session sealed with A is signed out cleanly (`isLoggedIn: false`,
//   its cookies cleared, the proxy's 401), never a 500.
// - Minting: under "B,A" the JWKS serves both keys, the proxy mints with B, and the example API
//   accepts tokens of either; under B alone, A is gone from the JWKS and its tokens are refused.
// The worker restarts between the phases (its configuration is read once per isolate); the
// example API restarts too, so it reads the JWKS of each phase afresh.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startIdp, startWorker, startExampleApi, API, COOKIE_KEYS, MINT_KEY, ORIGIN } from "../support/stack.mjs";
import { signIn } from "../support/session.mjs";
import { mintedWith } from "../support/tokens.mjs";

const COOKIE_A = COOKIE_KEYS; // t1:…
const COOKIE_B = `t2:${randomBytes(32).toString("hex")}`;
const MINT_A = MINT_KEY; // m1:…
const MINT_B = `m2:${randomBytes(32).toString("base64url")}`;
const kidOf = (spec) => spec.split(":")[0];

const idp = await startIdp();
let worker;
let api;
after(async () => {
  await api?.stop();
  await worker?.stop();
  await idp.stop();
});

/** Restarts the worker (one workerd) and the example API with these keys. */
async function phase(cookieKeys, mintKey) {
  await api?.stop();
  await worker?.stop();
  worker = await startWorker({ runtime: "workerd", vars: { EDGEWARD_COOKIE_KEYS: cookieKeys, EDGEWARD_MINT_KEY: mintKey } });
  api = await startExampleApi();
}

/** The key ids our sealed cookies in `jar` were sealed with (`3.<kid>.…`), by cookie name. */
function sealedWith(jar) {
  const kids = {};
  for (const [name, { value }] of jar.cookies.get("localhost") ?? []) {
    const parts = value.split(".");
    if (name.startsWith("__Host-edgeward") && parts.length >= 5) kids[name] = parts[1];
  }
  return kids;
}

const session = async (jar) => {
  const res = await jar.fetch(`${ORIGIN}/auth/session`);
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
};
const whoami = (jar) => jar.fetch(`${ORIGIN}/api/whoami`);
const direct = (token) => fetch(`${API}/whoami`, { headers: { authorization: `Bearer ${token}` } });
const tokenOf = (spec) => {
  const now = Math.floor(Date.now() / 1000);
  return mintedWith(spec, { iss: ORIGIN, aud: API, sub: "rotation", scope: "openid", client_id: "edgeward", iat: now, exp: now + 300 });
};
const jwksKids = async () => (await (await fetch(`${ORIGIN}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid).sort();

test("cookie and minting keys rotate A → B,A → B without a 500 or a lost session that should live", async () => {
  // Phase 1: A only.
  await phase(COOKIE_A, MINT_A);
  const { jar: early, csrf } = await signIn();
  const { jar: untouched } = await signIn();
  assert.ok(Object.values(sealedWith(early)).length >= 2, "sealed cookies in the jar");
  assert.ok(Object.values(sealedWith(early)).every((kid) => kid === kidOf(COOKIE_A)), "sealed with A");
  assert.equal((await session(early)).isLoggedIn, true);
  assert.equal((await whoami(early)).status, 200);
  assert.deepEqual(await jwksKids(), [kidOf(MINT_A)]);

  // Phase 2: "B,A". Sessions sealed with A still work; what is sealed now is sealed with B.
  await phase(`${COOKIE_B},${COOKIE_A}`, `${MINT_B},${MINT_A}`);
  assert.equal((await session(early)).isLoggedIn, true, "a session sealed with A lives on under B,A");
  const proxied = await whoami(early);
  assert.equal(proxied.status, 200, "the proxy mints with B and the API, reading both keys, accepts it");
  assert.deepEqual(await jwksKids(), [kidOf(MINT_A), kidOf(MINT_B)].sort(), "the JWKS serves both minting keys");
  assert.equal((await direct(tokenOf(MINT_A))).status, 200, "a token A signed still verifies at the API");
  assert.equal((await direct(tokenOf(MINT_B))).status, 200, "and one B signed");
  const refreshed = await early.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });
  assert.equal(refreshed.status, 204, await refreshed.text());
  const rotated = sealedWith(early);
  assert.ok(Object.values(rotated).includes(kidOf(COOKIE_B)), `the refresh sealed with B: ${JSON.stringify(rotated)}`);
  const { jar: late } = await signIn();
  assert.ok(Object.values(sealedWith(late)).every((kid) => kid === kidOf(COOKIE_B)), "a new sign-in is sealed with B only");

  // Phase 3: B only. A session sealed with A ends cleanly; one sealed with B lives.
  await phase(COOKIE_B, MINT_B);
  const gone = await untouched.fetch(`${ORIGIN}/auth/session`);
  assert.equal(gone.status, 200, "not a 500");
  assert.equal((await gone.json()).isLoggedIn, false, "a session sealed with A is signed out");
  const cleared = gone.headers.getSetCookie().filter((c) => /max-age=0/i.test(c)).map((c) => c.split("=")[0]);
  assert.ok(cleared.includes("__Host-edgeward-id"), `its cookies are cleared: ${cleared}`);
  const refused = await whoami(untouched);
  assert.equal(refused.status, 401, "the proxy refuses it as signed out");
  assert.equal((await session(late)).isLoggedIn, true, "a session sealed with B lives");
  assert.equal((await whoami(late)).status, 200);
  assert.deepEqual(await jwksKids(), [kidOf(MINT_B)], "A is gone from the JWKS");
  assert.equal((await direct(tokenOf(MINT_A))).status, 401, "a token A signed is refused now");
  assert.equal((await direct(tokenOf(MINT_B))).status, 200);
  assert.doesNotMatch(worker.output(), /panicked|internal error/, "no panic, no 500 in the log");
});
