// What happens when the refresh coordinator (the Durable Object `EdgewardRefresh`) loses its
// memory within the grace window — as when Cloudflare evicts it, here by restarting the one
// workerd that runs it (its storage stays; the object keeps its answers in memory only, README
// "Refresh, once"):
// - before the restart, a second tab presenting the old refresh token within the grace window
//   gets the first refresh's answer, without a grant at the IdP;
// - after it, the same late tab finds no answer, presents the old token to the IdP, which takes
//   the reuse of a rotated token for theft and revokes the grant: the late tab is signed out
//   (401 `session_expired`, cookies cleared), and so is the tab that refreshed first, at its next
//   refresh. Exactly what the README says; this test keeps it so.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startIdp, startWorker, ORIGIN, ISSUER } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn } from "../support/session.mjs";

const idp = await startIdp();
let worker;
after(async () => {
  await worker?.stop();
  await idp.stop();
});
const start = async () => {
  await worker?.stop();
  worker = await startWorker({ runtime: "workerd", vars: { EDGEWARD_REFRESH_GRACE: "300" } });
};

/** A copy of `jar` as another tab of the same browser holds it now. */
function tabOf(jar) {
  const tab = new CookieJar();
  for (const [name, cookie] of jar.cookies.get("localhost")) tab.set(ORIGIN, name, cookie.value);
  return tab;
}
const grants = async () => (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants.refresh_token ?? 0;

test("the coordinator's answer serves a late tab in the grace window, until the object loses its memory", async () => {
  await start();
  const { jar, csrf } = await signIn();
  const refresh = (tab) => tab.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });

  // In memory: the late tab gets the first refresh's answer, and no second grant is made.
  let late = tabOf(jar);
  let before = await grants();
  assert.equal((await refresh(jar)).status, 204);
  assert.equal((await refresh(late)).status, 204, "the late tab gets the kept answer");
  assert.equal(await grants(), before + 1, "one grant for both tabs");

  // The object loses its memory (the runtime restarts; its storage is kept) within the window.
  late = tabOf(jar);
  before = await grants();
  assert.equal((await refresh(jar)).status, 204);
  await start();
  const lost = await refresh(late);
  assert.equal(lost.status, 401, "the late tab's old token reached the IdP, which took it for theft");
  assert.equal((await lost.json()).code, "session_expired");
  assert.ok(
    lost.headers.getSetCookie().some((c) => c.startsWith("__Host-edgeward-id=") && /max-age=0/i.test(c)),
    "its cookies are cleared",
  );
  assert.equal(await grants(), before + 1, "the IdP granted nothing for the old token this time");
  const first = await refresh(jar);
  assert.equal(first.status, 401, "the reuse revoked the grant: the first tab is signed out at its next refresh");
});
