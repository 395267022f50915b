// Starts and stops the real parts for integration tests: the local IdP (oidc-provider) and the
// worker in `wrangler dev` (workerd), or its built bundle in one workerd process. Tests use their own ports, so a running dev stack
// (8787/9000) does not disturb them.
import { before, after } from "node:test";
import { spawn, spawnSync } from "node:child_process";
import { needsExperimental, readWranglerConfig, workerdBinary, writeWorkerdConfig } from "../../scripts/workerd-config.mjs";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WORKER_PORT = Number(process.env.TEST_WORKER_PORT || 8790);
export const IDP_PORT = Number(process.env.TEST_IDP_PORT || 9090);
export const ORIGIN = `http://localhost:${WORKER_PORT}`;
export const API_PORT = Number(process.env.TEST_API_PORT || 8095);
export const API = `http://localhost:${API_PORT}`;
export const ISSUER = `http://localhost:${IDP_PORT}`;
export const CLIENT_SECRET = "integration-test-secret";
/** One cookie key per test run. */
export const COOKIE_KEYS = `t1:${randomBytes(32).toString("hex")}`;
/** One ES256 minting key per test run. */
export const MINT_KEY = `m1:${randomBytes(32).toString("base64url")}`;
/** The example API behind the proxy. */
export const API_ROUTES = JSON.stringify([
  { prefix: "/api/whoami/", upstream: `${API}/whoami/`, methods: ["GET"] },
  { prefix: "/api/echo/", upstream: `${API}/echo/`, methods: ["GET", "POST", "PUT", "PATCH", "DELETE"] },
  { prefix: "/api/admin/", upstream: `${API}/admin/`, methods: ["GET"] },
  // A route with per-route header extras (the proxy suite's header tests).
  {
    prefix: "/api/tenant/",
    upstream: `${API}/echo/tenant/`,
    methods: ["GET"],
    requestHeaders: ["x-tenant"],
    responseHeaders: ["x-ratelimit-remaining"],
  },
]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Where test runs leave logs and screenshots (kept by CI as artifacts). */
export function artifactDir() {
  const dir = join(ROOT, "test-artifacts");
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Polls `url` until it answers (any status) or `timeoutMs` passes; with `child` (the process
 * that should answer), fails at once when it has exited.
 */
export async function waitFor(url, timeoutMs, what, child) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(`${what} exited before it came up at ${url}`);
      }
      if (Date.now() > deadline) throw new Error(`${what} did not come up at ${url} in ${timeoutMs} ms`);
      await sleep(250);
    }
  }
}

/** The process groups `launch` started and has not stopped yet. */
const running = new Set();
const killAll = () => {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {}
  }
  running.clear();
};
// A test process ended from outside (the test command's time limit, Ctrl-C) takes its servers
// with it: left running, they would hold the ports and answer the next suite's requests.
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGHUP" ? 1 : 15));
  });
}
process.once("exit", killAll);

/**
 * Fails at once when something already listens on `port`: a server left over from an earlier
 * run would otherwise answer in place of the one this suite starts.
 */
export async function assertPortFree(port, what) {
  const answers = (host) =>
    new Promise((resolve) => {
      const socket = connect({ host, port });
      socket.setTimeout(2000, () => (socket.destroy(), resolve(true)));
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
  // A server this suite stopped a moment ago may still be letting go of the port (wrangler's
  // process has exited, its workerd not yet): asked again for up to 5 s before it counts as
  // one left over.
  for (let tries = 0; ; tries++) {
    const busy = (await Promise.all(["127.0.0.1", "::1"].map(answers))).some(Boolean);
    if (!busy) return;
    if (tries >= 10) throw new Error(`port ${port} (${what}) is already in use: a server left over from an earlier run?`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A child process in its own process group, with its output kept in a log file. */
export function launch(name, command, args, env) {
  const log = join(artifactDir(), `${name}.log`);
  writeFileSync(log, "");
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child.pid);
  const chunks = [];
  child.stdout.on("data", (d) => chunks.push(d));
  child.stderr.on("data", (d) => chunks.push(d));
  child.on("exit", () => writeFileSync(log, Buffer.concat(chunks)));
  const forget = () => running.delete(child.pid);
  return {
    child,
    output: () => Buffer.concat(chunks).toString(),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await Promise.race([exited, sleep(5000)]);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      forget();
    },
  };
}

/** Starts the local IdP on IDP_PORT. */
export async function startIdp(extraEnv = {}) {
  await assertPortFree(IDP_PORT, "the IdP");
  const idp = launch("idp", process.execPath, ["tests/idp/server.mjs"], {
    IDP_PORT: String(IDP_PORT),
    IDP_ISSUER: ISSUER,
    APP_ORIGIN: ORIGIN,
    // Suites start extra workers on the next ports (each its own origin).
    APP_EXTRA_ORIGINS: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `http://localhost:${WORKER_PORT + i}`).join(","),
    IDP_CLIENT_SECRET: CLIENT_SECRET,
    ...extraEnv,
  });
  await waitFor(`${ISSUER}/.well-known/openid-configuration`, 15_000, "the IdP");
  return idp;
}

/**
 * Starts the worker in `wrangler dev` on `port`, with the test configuration; `vars` override
 * single variables (e.g. to test a bad configuration); `config` names another wrangler config file
 * (bindings changed for a test). `lean` (benchmarks only) starts it through
 * wrangler's API without the inspector and request log (tests/support/wrangler-lean.mjs).
 * `script` runs another entry than wrangler.toml's `main` (e.g. a test build's), and `env` adds
 * to wrangler's environment (and so to its build command's, scripts/build-worker.sh).
 *
 * `runtime: "workerd"` serves the built bundle from ONE workerd process instead (the
 * production-like runtime, scripts/workerd-config.mjs): `bundle` is its directory (default
 * build/worker/, built first by scripts/build-worker.sh with `env`, as wrangler dev would;
 * a given `bundle` is served as it is), `assets` puts the SPA router in front of the worker,
 * `inspector` opens workerd's DevTools protocol on that port (for a CPU profile), and
 * `metricsSink` (host:port) is where its Analytics Engine binding posts data points.
 */
export async function startWorker({ port = WORKER_PORT, vars = {}, lean = false, config, script, env = {}, runtime = "wrangler", bundle, assets = false, inspector, metricsSink } = {}) {
  await assertPortFree(port, "the worker");
  const persist = mkdtempSync(join(tmpdir(), `edgeward-${runtime}-`));
  const all = {
    EDGEWARD_PROFILE: "local",
    EDGEWARD_ORIGIN: `http://localhost:${port}`,
    EDGEWARD_COOKIE_KEYS: COOKIE_KEYS,
    OIDC_ISSUER: ISSUER,
    OIDC_CLIENT_ID: "edgeward",
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    EDGEWARD_API_ROUTES: API_ROUTES,
    EDGEWARD_MINT_KEY: MINT_KEY,
    ...vars,
  };
  const launchOnce = async () => {
    if (runtime === "workerd") {
      return launchWorkerd({ port, vars: all, config, bundle, env, assets, persist, inspector, metricsSink });
    } else if (runtime !== "wrangler") {
      throw new Error(`unknown runtime ${runtime}: wrangler or workerd`);
    } else if (lean) {
      return launch(`worker-${port}`, process.execPath, ["tests/support/wrangler-lean.mjs"], {
        WRANGLER_SEND_METRICS: "false",
        LEAN_PORT: String(port),
        LEAN_PERSIST: persist,
        LEAN_VARS: JSON.stringify(all),
        ...env,
      });
    }
    const args = ["wrangler", "dev", ...(script ? [script] : []), "--port", String(port), "--persist-to", persist, "--log-level", "info"];
    if (config) args.push("--config", config);
    for (const [k, v] of Object.entries(all)) args.push("--var", `${k}:${v}`);
    return launch(`worker-${port}`, "npx", args, { WRANGLER_SEND_METRICS: "false", ...env });
  };
  let worker;
  for (let attempt = 1; ; attempt++) {
    worker = await launchOnce();
    try {
      await waitFor(`http://localhost:${port}/auth/session`, 180_000, runtime === "workerd" ? "workerd" : "wrangler dev", worker.child);
      break;
    } catch (error) {
      // wrangler dev picks free ports for its own use, and one can be taken between its look
      // and its bind (by a server a test just started on port 0): it then exits with "Address
      // already in use" for an address that is not the worker's. Started again, it picks anew.
      const clash = /Address already in use/.test(worker.output()) && !worker.output().includes(`:${port})`);
      await worker.stop();
      if (!clash || attempt >= 3) throw new Error(`${error.message}\n${worker.output().slice(-2000)}`);
    }
  }
  // Where workerd keeps Durable Object storage, so tests can inspect what is stored.
  worker.persist = persist;
  return worker;
}

/** The bundle in one workerd process (see startWorker), its config written beside `persist`. */
async function launchWorkerd({ port, vars, config = "wrangler.toml", bundle, env, assets, persist, inspector, metricsSink }) {
  if (!bundle) {
    const build = spawnSync("bash", ["scripts/build-worker.sh"], { cwd: ROOT, env: { ...process.env, ...env }, stdio: "inherit" });
    if (build.status !== 0) throw new Error(`scripts/build-worker.sh failed (${build.status ?? build.signal})`);
    bundle = join(ROOT, "build", "worker");
  }
  const wrangler = await readWranglerConfig(join(ROOT, config));
  const storage = join(persist, "do");
  const file = writeWorkerdConfig({ config: wrangler, bundle, dir: join(persist, "workerd"), port, vars, storage, assets, metricsSink });
  // `inspector`: a port for the DevTools protocol (scripts/profile-workerd.mjs samples the CPU).
  const args = inspector ? ["serve", file, `--inspector-addr=127.0.0.1:${inspector}`] : ["serve", file];
  if (needsExperimental(wrangler)) args.push("--experimental");
  const worker = launch(`worker-${port}`, workerdBinary(), args, env);
  worker.storage = storage;
  return worker;
}

/**
 * Starts the example API (the Rust fixture behind the proxy), trusting the worker on `port`
 * (the tokens it mints), or with `trust: "idp"` the IdP (its JWT introspection answers), or
 * with `trust: { issuer, jwksUrl, audience }` another provider's; `port` another port than
 * API_PORT.
 */
export async function startExampleApi({ workerPort = WORKER_PORT, profile = "debug", trust = "worker", port = API_PORT } = {}) {
  await assertPortFree(port, "the example API");
  const bin = join(ROOT, "target", profile, "edgeward-example-api");
  const base = `http://localhost:${port}`;
  const other = typeof trust === "object" ? trust : undefined;
  const issuer = other?.issuer ?? (trust === "idp" ? ISSUER : `http://localhost:${workerPort}`);
  const api = launch(port === API_PORT ? "example-api" : `example-api-${port}`, bin, [], {
    PORT: String(port),
    JWKS_URL: other?.jwksUrl ?? (trust === "idp" ? `${ISSUER}/jwks` : `${issuer}/.well-known/jwks.json`),
    ISSUER: issuer,
    AUDIENCE: other?.audience ?? base,
    // The worker mints RFC 9068 access tokens (typ at+jwt); the local IdP's introspection JWTs
    // carry typ JWT.
    TOKEN_TYP: trust === "worker" ? "at+jwt" : "any",
  });
  await waitFor(`${base}/nothing`, 15_000, "the example API");
  return api;
}

/**
 * Registers before/after hooks that start the parts a suite needs and stop them afterwards.
 * `idp` and `worker` take `true` or their options; returns the running parts (filled in by
 * the before hook), so a test can stop one (e.g. to show the IdP or the API down).
 */
export function useStack({ idp, worker, api } = {}) {
  const parts = {};
  before(async () => {
    if (idp) parts.idp = await startIdp(idp === true ? {} : idp);
    if (worker) parts.worker = await startWorker(worker === true ? {} : worker);
    if (api) parts.api = await startExampleApi(api === true ? {} : api);
  });
  after(async () => {
    for (const name of ["api", "worker", "idp"]) await parts[name]?.stop();
  });
  return parts;
}
