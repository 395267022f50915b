// A short soak run (scripts/soak.mjs; the long one is scripts/soak.sh): 20 virtual users for
// 10 s against the local IdP (access tokens living 2 s; 15 rounds a session), the worker in one workerd process and
// the example API. Every status is one the flow expects, no signed-in user is signed out, and
// access tokens expired and were refreshed along the way.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useStack } from "../support/stack.mjs";
import { soak } from "../../scripts/soak.mjs";

const stack = useStack({ idp: { IDP_ACCESS_TOKEN_TTL: "2" }, worker: { runtime: "workerd" }, api: true });

test("20 users for 10 s: sign-in, session reads, proxied GETs and POSTs, refreshes, sign-out", async () => {
  const report = await soak({ seconds: 10, users: 20, rounds: 15, workerPid: stack.worker.child.pid, log: console.log });
  assert.deepEqual(report.problems, [], "no unexpected status, no lost session");
  assert.ok(report.sessions >= 20, `every user signed in (${report.sessions})`);
  assert.ok(report.refreshes >= 10, `access tokens expired and were refreshed (${report.refreshes})`);
  assert.ok((report.counts["POST /auth/logout 200"] ?? 0) >= 20, "every user got through a whole session to sign-out");
  assert.ok(report.counts["POST /api/echo/ 200"] > 100, "POSTs went through the proxy");
});
