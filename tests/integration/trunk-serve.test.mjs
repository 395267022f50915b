// The frontend loop: `trunk serve` (hot rebuild of the SPA) with its proxy to the worker, as
// README "Frontend loop" documents it. The config is app/Trunk.toml with only the ports (and
// the output directory, so dist/ is left alone) changed for the test stack.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { useStack, launch, waitFor, ROOT, WORKER_PORT, ORIGIN } from "../support/stack.mjs";

const TRUNK_PORT = Number(process.env.TEST_TRUNK_PORT || 8098);
const TRUNK = `http://127.0.0.1:${TRUNK_PORT}`;

useStack({ idp: true, worker: true });
let trunk;
before(async () => {
  const config = readFileSync(join(ROOT, "app", "Trunk.toml"), "utf8")
    .replaceAll("http://localhost:8787/", `http://localhost:${WORKER_PORT}/`)
    .replace(/^port = 8080$/m, `port = ${TRUNK_PORT}`)
    .replace(/^dist = "\.\.\/dist"$/m, 'dist = "../target/trunk-serve-test"');
  assert.ok(config.includes(`port = ${TRUNK_PORT}`) && config.includes("trunk-serve-test"), "the config was rewritten");
  writeFileSync(join(ROOT, "app", "Trunk.test.toml"), config);
  trunk = launch("trunk-serve", "bash", [
    "-c",
    "source scripts/lib.sh && cd app && with_wasm_toolchain trunk serve --config Trunk.test.toml --no-autoreload",
  ]);
  // The first serve builds the SPA (debug): give it time on a 2-core machine.
  await waitFor(`${TRUNK}/`, 600_000, "trunk serve");
});
after(async () => {
  await trunk?.stop();
});

test("the SPA served by trunk reaches the worker through trunk's proxy", async () => {
  const page = await fetch(`${TRUNK}/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /edgeward-app-[0-9a-f]+\.js/, "trunk's page loads the SPA");

  const session = await fetch(`${TRUNK}/auth/session`);
  assert.equal(session.status, 200);
  assert.deepEqual(await session.json(), { isLoggedIn: false });
  assert.equal(session.headers.get("cache-control"), "no-store", "the worker answered, through the proxy");

  // Errors keep their JSON shape and status through the proxy.
  const missing = await fetch(`${TRUNK}/api/whoami`);
  assert.equal(missing.status, 401);
  assert.equal((await missing.json()).code, "unauthorized");

  // Login start from the trunk page: the worker's answer (and its Set-Cookie) come through.
  const start = await fetch(`${TRUNK}/auth/login/start`, {
    method: "POST",
    headers: { origin: ORIGIN, "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(start.status, 200);
  assert.match(start.headers.get("set-cookie") ?? "", /__Host-edgeward-login=/);
});
