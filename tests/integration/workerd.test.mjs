// The production-like runtime of the benchmarks (scripts/workerd-config.mjs): the built bundle in
// ONE workerd process, configured from wrangler.toml. These tests keep it honest: the worker
// really answers there (sign-in, session read, a refresh through EdgewardRefresh, a revocation
// through EdgewardSessions), in one process, the SPA router serves the assets as Cloudflare
// would, and a binding the runtime cannot provide fails the config instead of running without it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useStack, startWorker, ORIGIN, ISSUER, ROOT, WORKER_PORT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { signIn } from "../support/session.mjs";
import { readWranglerConfig, writeWorkerdConfig, workerdBinary } from "../../scripts/workerd-config.mjs";

const ADMIN = "admin-token-for-the-workerd-runtime-test-0123456789";
// The registry sweeps every 2 s here (an hour by default), so its alarm runs within the suite.
const stack = useStack({ idp: true, worker: { runtime: "workerd", vars: { EDGEWARD_ADMIN_TOKEN: ADMIN, EDGEWARD_REGISTRY_SWEEP_SECONDS: "2" } } });
const json = { origin: ORIGIN, "content-type": "application/json" };

/** The pids of `pid`'s children (Linux /proc). */
const childrenOf = (pid) =>
  readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid;
    } catch {
      return false;
    }
  });

test("one workerd process serves the worker", { skip: !existsSync("/proc/self/stat") }, () => {
  const { pid } = stack.worker.child;
  const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  assert.equal(command[0], workerdBinary(), "the launched process is wrangler's workerd binary");
  assert.equal(command[1], "serve");
  assert.deepEqual(childrenOf(pid), [], "and it starts no other process");
});

test("sign-in, session read, refresh (EdgewardRefresh) and revocation (EdgewardSessions)", async () => {
  const { jar, csrf } = await signIn();
  const read = await (await jar.fetch(`${ORIGIN}/auth/session`)).json();
  assert.equal(read.isLoggedIn, true);
  assert.equal(read.claims.sub, "demo");

  // The refresh coordinator: a second tab still holding the old refresh token gets the first
  // refresh's answer from the Durable Object (one grant at the IdP); without the object it
  // would present the old token again.
  const stale = new CookieJar();
  for (const [name, cookie] of jar.cookies.get("localhost")) stale.set(ORIGIN, name, cookie.value);
  const grants = async () => (await (await fetch(`${ISSUER}/_test/stats`)).json()).grants.refresh_token ?? 0;
  const before = await grants();
  const refresh = (tab) => tab.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN, "x-edgeward-csrf": csrf } });
  for (const tab of [jar, stale]) {
    const res = await refresh(tab);
    assert.equal(res.status, 204, await res.text());
  }
  assert.equal(await grants(), before + 1, "one refresh-token grant for both tabs");
  assert.equal((await (await stale.fetch(`${ORIGIN}/auth/session`)).json()).isLoggedIn, true);

  // Revoke-all denies the user's stateless sessions through the registry (a Durable Object):
  // the next read finds the session ended.
  const revoke = await fetch(`${ORIGIN}/auth/admin/sessions?sub=demo`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN}` } });
  assert.ok(revoke.ok, `revoke-all answered ${revoke.status}: ${await revoke.text()}`);
  const ended = await (await jar.fetch(`${ORIGIN}/auth/session`)).json();
  assert.equal(ended.isLoggedIn, false, "the registry's denial reached the session read");
  // Both classes kept their storage on disk, where the runtime was told to.
  assert.deepEqual(readdirSync(stack.worker.storage).sort(), ["edgeward-EdgewardRefresh", "edgeward-EdgewardSessions"]);
});

test("the registry's alarm: a write arms it, it sweeps, and it comes back while anything is left", async () => {
  const sweeps = () => stack.worker.output().split("\n").filter((l) => /edgeward: registry sweep: \d+ deleted/.test(l)).length;
  const before = sweeps();
  // A write to one registry object (a denial of every session of a user: kept, so the object
  // is never empty and the alarm keeps coming back).
  const revoke = await fetch(`${ORIGIN}/auth/admin/sessions?sub=sweep-test`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN}` } });
  assert.ok(revoke.ok, `revoke-all answered ${revoke.status}`);
  const deadline = Date.now() + 15_000;
  while (sweeps() < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.ok(sweeps() >= before + 2, `two sweeps within 15 s, saw ${sweeps() - before}:\n${stack.worker.output().slice(-1500)}`);
});

test("with the router in front: the SPA's files, deep links and the worker's paths", async () => {
  const port = WORKER_PORT + 1;
  const worker = await startWorker({ port, runtime: "workerd", assets: true });
  after(() => worker.stop());
  const origin = `http://localhost:${port}`;
  const index = readFileSync(join(ROOT, "dist", "index.html"), "utf8");
  for (const path of ["/", "/index.html", "/some/deep/link"]) {
    const res = await fetch(`${origin}${path}`);
    assert.equal(res.status, 200, path);
    assert.equal(await res.text(), index, `${path} is index.html`);
    assert.match(res.headers.get("content-type"), /^text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/, `${path}: dist/_headers applies`);
  }
  const wasm = readdirSync(join(ROOT, "dist")).find((f) => f.endsWith("_bg.wasm"));
  const res = await fetch(`${origin}/${wasm}`);
  assert.equal(res.headers.get("content-type"), "application/wasm");
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(join(ROOT, "dist", wasm)));
  // The worker's paths (run_worker_first) reach the worker, not the SPA fallback.
  const session = await fetch(`${origin}/auth/session`);
  assert.deepEqual(await session.json(), { isLoggedIn: false });
  const missing = await fetch(`${origin}/auth/nothing-here`);
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get("content-type"), /^application\/json/);
  // `_headers` itself is the platform's, never served.
  assert.equal(await (await fetch(`${origin}/_headers`)).text(), index);
});

test("a binding the runtime does not provide fails the config", async () => {
  const dir = mkdtempSync(join(tmpdir(), "edgeward-workerd-config-"));
  const toml = join(dir, "wrangler.toml");
  writeFileSync(toml, `${readFileSync(join(ROOT, "wrangler.toml"), "utf8")}
[[kv_namespaces]]
binding = "CACHE"
id = "0123"
`);
  const config = await readWranglerConfig(toml);
  assert.throws(
    () => writeWorkerdConfig({ config, bundle: join(ROOT, "build", "worker"), dir, port: 1 }),
    /binds kv_namespaces/,
  );
});
