// OpenID Connect Back-Channel Logout against workerd (the EdgewardSessions Durable Object as the
// registry) and the real IdP: a logout at the IdP ends the worker's session at once; forged,
// wrongly signed, replayed and non-logout tokens are 400 and change nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useStack, ORIGIN, ISSUER } from "../support/stack.mjs";
import { signIn, openCookie } from "../support/session.mjs";
import { signedLogoutToken } from "../support/tokens.mjs";

const stack = useStack({ idp: true, worker: true, api: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loggedIn = async (jar) => (await (await jar.fetch(`${ORIGIN}/auth/session`)).json()).isLoggedIn;
const sidOf = (jar) => openCookie("__Host-edgeward-id", jar.get(ORIGIN, "__Host-edgeward-id").value).b.s;

const signed = signedLogoutToken;

const deliver = (token) =>
  fetch(`${ORIGIN}/auth/backchannel-logout`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });

test("signing out at the IdP ends the worker's session through back-channel logout", async () => {
  const { jar } = await signIn();
  const other = await signIn();
  assert.ok(sidOf(jar), "the ID token carried the IdP's session id");
  assert.equal(await loggedIn(jar), true);

  // The user ends their session at the IdP itself (its end-session page, confirmed).
  const page = await jar.fetch(`${ISSUER}/session/end?client_id=edgeward`);
  const html = await page.text();
  const xsrf = html.match(/name="xsrf" value="([^"]+)"/)?.[1];
  assert.ok(xsrf, `the IdP's sign-out form: ${html.slice(0, 200)}`);
  const confirm = await jar.fetch(`${ISSUER}/session/end/confirm`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ xsrf, logout: "yes" }).toString(),
  });
  assert.ok(confirm.status < 400, `confirm answered ${confirm.status}`);

  // The IdP called the worker; the session is over on every path (and its cookies cleared).
  let api;
  for (let i = 0; i < 50; i++) {
    api = await jar.fetch(`${ORIGIN}/api/whoami`);
    if (api.status === 401) break;
    await sleep(100);
  }
  assert.equal(api.status, 401);
  assert.equal((await api.json()).code, "session_expired");
  assert.equal(jar.get(ORIGIN, "__Host-edgeward-id"), undefined, "cookies cleared");
  // Another browser's session (another IdP session) lives on.
  assert.equal(await loggedIn(other.jar), true);
});

test("forged, wrongly signed, replayed and non-logout tokens are 400 and change nothing", async () => {
  const { jar } = await signIn();
  const sid = sidOf(jar);
  const good = await signed({ sid, jti: `replay-${Date.now()}` });
  const [header, payload, signature] = good.split(".");
  const flipped = signature[5] === "A" ? "B" : "A";
  const badSignature = `${header}.${payload}.${signature.slice(0, 5)}${flipped}${signature.slice(6)}`;
  const refused = [
    ["a wrong signature", badSignature],
    ["unsigned (alg none)", `${Buffer.from('{"alg":"none"}').toString("base64url")}.${payload}.`],
    ["another audience", await signed({ sid, aud: "someone-else" })],
    ["a nonce", await signed({ sid, nonce: "n" })],
    ["no logout event", await signed({ sid, events: {} })],
    ["neither sid nor sub", await signed({})],
    ["too old", await signed({ sid, iat: Math.floor(Date.now() / 1000) - 3600 })],
  ];
  for (const [why, token] of refused) {
    const res = await deliver(token);
    assert.equal(res.status, 400, why);
    assert.equal((await res.json()).code, "logout_token_invalid", why);
  }
  assert.equal(await loggedIn(jar), true, "none of them ended the session");

  // The good one works once; the same jti again is a replay.
  assert.equal((await deliver(good)).status, 200);
  assert.equal(await loggedIn(jar), false);
  const replay = await deliver(good);
  assert.equal(replay.status, 400);
  assert.equal((await replay.json()).message, "logout token refused", "a fixed message outside");
  await sleep(300);
  assert.match(stack.worker.output(), /logout_token_invalid: its jti was seen before \(a replay\)/, "the cause in the log");

  // A token with only a sub ends every session of the user begun before it, not later ones.
  const first = await signIn();
  const second = await signIn();
  await sleep(1100);
  assert.equal((await deliver(await signed({ sub: "demo" }))).status, 200);
  assert.equal(await loggedIn(first.jar), false);
  assert.equal(await loggedIn(second.jar), false);
  await sleep(1100);
  const later = await signIn();
  assert.equal(await loggedIn(later.jar), true, "a login after the logout lives");

  // A form without a logout_token; and not a form at all (fetch sends a string as text/plain).
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const empty = await fetch(`${ORIGIN}/auth/backchannel-logout`, { method: "POST", headers: form, body: "" });
  assert.equal(empty.status, 400);
  const plain = await fetch(`${ORIGIN}/auth/backchannel-logout`, { method: "POST", body: "" });
  assert.equal(plain.status, 415);
});
