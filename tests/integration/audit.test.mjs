// Issue 18's audit trail and metrics against the real runtime: the built worker in raw workerd
// (tests/integration/config/audit.toml: guards.toml plus `[[analytics_engine_datasets]]`, whose
// native binding posts each data point to the sink this suite runs; under `wrangler dev` the
// binding is a silent no-op). One stack for the suite; the last test reads the worker's whole
// log: every audit event where it should be, and no token, code or cookie value the run saw.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { useStack, startWorker, API_ROUTES, ISSUER, ORIGIN, ROOT, WORKER_PORT } from "../support/stack.mjs";
import { CookieJar } from "../support/jar.mjs";
import { loginAtIdp } from "../support/idp-login.mjs";

const ADMIN = "an-admin-token-of-at-least-32-characters-audit";
const SINK_PORT = Number(process.env.TEST_SINK_PORT ?? WORKER_PORT + 10);

/** Every data point the Analytics Engine binding posted, decoded. */
const points = [];
const bytes = (v) => (Array.isArray(v) ? Buffer.from(v).toString() : v);
const sink = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    try {
      const p = JSON.parse(body);
      points.push({ at: Math.floor(Date.now() / 1000), index: bytes(p.index1), blobs: [p.blob1, p.blob2, p.blob3, p.blob4, p.blob5].map(bytes), doubles: [p.double1, p.double2] });
    } catch {
      points.push({ unreadable: body });
    }
    res.end();
  });
});
await new Promise((resolve) => sink.listen(SINK_PORT, "127.0.0.1", resolve));
after(() => sink.close());

const stack = useStack({
  idp: true,
  api: true,
  worker: {
    runtime: "workerd",
    config: "tests/integration/config/audit.toml",
    bundle: process.env.TEST_WORKER_BUNDLE ?? join(ROOT, "build", "worker"),
    metricsSink: `127.0.0.1:${SINK_PORT}`,
    vars: {
      EDGEWARD_ADMIN_TOKEN: ADMIN,
      EDGEWARD_RATE_LIMIT_PERIOD: "10",
      // Plus a route for machine clients only: a browser session there is 403 client_not_allowed.
      EDGEWARD_API_ROUTES: JSON.stringify([
        ...JSON.parse(API_ROUTES),
        { prefix: "/api/machines/", upstream: "http://127.0.0.1:9/", methods: ["GET"], clients: ["service"] },
      ]),
    },
  },
});

/** Every secret value the run saw: cookie values, the code, the CSRF value, tokens echoed. */
const secrets = new Set();
const harvest = (jar) => {
  for (const host of jar.cookies.values()) for (const { value } of host.values()) if (value.length >= 8) secrets.add(value);
};
const json = { "content-type": "application/json" };

/** A login as the browser makes it, from `ip`; returns the jar, the CSRF value, the callback. */
async function login(ip) {
  const jar = new CookieJar();
  const headers = { origin: ORIGIN, ...json, "cf-connecting-ip": ip };
  const start = await jar.fetch(`${ORIGIN}/auth/login/start`, { method: "POST", headers, body: "{}" });
  assert.equal(start.status, 200);
  const callback = await loginAtIdp(jar, (await start.json()).authorizationUrl, { callbackPrefix: `${ORIGIN}/callback` });
  secrets.add(new URL(callback).searchParams.get("code"));
  const end = await jar.fetch(`${ORIGIN}/auth/login/end`, { method: "POST", headers, body: JSON.stringify({ pageUrl: callback }) });
  assert.equal(end.status, 200);
  const csrf = (await end.json()).csrf;
  secrets.add(csrf);
  harvest(jar);
  return { jar, csrf, callback };
}

test("a login, a refresh, an API call, a logout, a back-channel logout and an admin revocation", async () => {
  const { jar, csrf } = await login("192.0.2.10");
  const api = await jar.fetch(`${ORIGIN}/api/echo/x`, { headers: { "cf-connecting-ip": "192.0.2.10" } });
  assert.equal(api.status, 200);
  const echoed = await api.json().catch(() => ({}));
  const bearer = JSON.stringify(echoed).match(/Bearer ([A-Za-z0-9._-]+)/)?.[1];
  if (bearer) secrets.add(bearer);
  const refresh = await jar.fetch(`${ORIGIN}/auth/refresh`, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": csrf, "cf-connecting-ip": "192.0.2.10" },
  });
  assert.ok(refresh.status < 300, `refresh ${refresh.status}`);
  harvest(jar);
  const csrfless = await jar.fetch(`${ORIGIN}/auth/refresh`, { method: "POST", headers: { origin: ORIGIN } });
  assert.equal(csrfless.status, 403);
  const logout = await jar.fetch(`${ORIGIN}/auth/logout`, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": csrf, "cf-connecting-ip": "192.0.2.10" },
  });
  assert.ok(logout.status < 300, `logout ${logout.status}`);
  // Another session, ended at the IdP: its back-channel logout reaches the worker.
  const other = await login("192.0.2.11");
  const page = await other.jar.fetch(`${ISSUER}/session/end?client_id=edgeward`);
  const xsrf = (await page.text()).match(/name="xsrf" value="([^"]+)"/)?.[1];
  assert.ok(xsrf, "the IdP's sign-out form");
  const confirm = await other.jar.fetch(`${ISSUER}/session/end/confirm`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ xsrf, logout: "yes" }).toString(),
  });
  assert.ok(confirm.status < 400, `confirm answered ${confirm.status}`);
  harvest(other.jar);
  const revoke = await fetch(`${ORIGIN}/auth/admin/sessions?sub=demo`, { method: "DELETE", headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(revoke.status, 200);
});

test("refusals: a failed login, a proxy 401 and 403, a foreign Origin, a rate limit", async () => {
  const failed = await fetch(`${ORIGIN}/auth/login/end`, {
    method: "POST",
    headers: { origin: ORIGIN, ...json, "cf-connecting-ip": "198.51.100.20" },
    body: JSON.stringify({ pageUrl: `${ORIGIN}/callback?code=CODE-NEVER-LOGGED-123&state=x` }),
  });
  assert.equal(failed.status, 400);
  secrets.add("CODE-NEVER-LOGGED-123");
  const denied = await fetch(`${ORIGIN}/api/echo/x`, { headers: { "cf-connecting-ip": "198.51.100.21" } });
  assert.equal(denied.status, 401);
  const { jar } = await login("198.51.100.23");
  const forbidden = await jar.fetch(`${ORIGIN}/api/machines/x`, { headers: { "cf-connecting-ip": "198.51.100.23" } });
  assert.equal(forbidden.status, 403);
  assert.equal((await forbidden.json()).code, "client_not_allowed");
  // A refresh without a session: refused (unauthorized).
  const sessionless = await fetch(`${ORIGIN}/auth/refresh`, {
    method: "POST",
    headers: { origin: ORIGIN, "x-edgeward-csrf": "x", "cf-connecting-ip": "198.51.100.25" },
  });
  assert.equal(sessionless.status, 401);
  const foreign = await fetch(`${ORIGIN}/auth/login/start`, {
    method: "POST",
    headers: { origin: "https://evil.example", ...json, "cf-connecting-ip": "198.51.100.24" },
    body: "{}",
  });
  assert.equal(foreign.status, 403);
  let status = 0;
  for (let i = 0; i < 8 && status !== 429; i++) {
    status = (await fetch(`${ORIGIN}/auth/login/start`, {
      method: "POST",
      headers: { origin: ORIGIN, ...json, "cf-connecting-ip": "198.51.100.22" },
      body: "{}",
    })).status;
  }
  assert.equal(status, 429);
});

/** The audit lines of the worker's log so far (JSON objects with an `event`). */
function auditLines() {
  return stack.worker
    .output()
    .split("\n")
    .map((line) => line.slice(line.indexOf("{")))
    .flatMap((line) => {
      try {
        const v = JSON.parse(line);
        return v && typeof v.event === "string" ? [v] : [];
      } catch {
        return [];
      }
    });
}

test("the log has each event where it happened, and no secret the run saw; the metrics match", async () => {
  // The log is read after the requests above; workerd writes as it goes.
  await new Promise((r) => setTimeout(r, 300));
  const lines = auditLines();
  const seen = (event, pred = () => true) => lines.some((l) => l.event === event && pred(l));
  assert.ok(seen("login.started", (l) => l.ip === "192.0.2.10"), JSON.stringify(lines));
  assert.ok(seen("login.succeeded", (l) => l.route === "/auth/login/end" && l.status === 200));
  assert.ok(seen("refresh.succeeded", (l) => /^[0-9a-f]{16}$/.test(l.session)));
  assert.ok(seen("csrf.rejected", (l) => l.status === 403));
  assert.ok(seen("session.ended", (l) => l.reason === "logout"));
  assert.ok(seen("session.ended", (l) => l.reason === "admin"));
  assert.ok(seen("session.ended", (l) => l.reason === "backchannel" && l.route === "/auth/backchannel-logout"));
  assert.ok(seen("login.failed", (l) => l.ip === "198.51.100.20" && l.reason === "invalid_state"));
  assert.ok(seen("proxy.denied", (l) => l.status === 401 && l.route === "/api/*"));
  assert.ok(seen("proxy.denied", (l) => l.status === 403 && l.reason === "client_not_allowed" && l.ip === "198.51.100.23"));
  assert.ok(seen("refresh.refused", (l) => l.status === 401 && l.reason === "unauthorized" && l.ip === "198.51.100.25"));
  assert.ok(seen("origin.rejected", (l) => l.status === 403 && l.route === "/auth/login/start" && l.ip === "198.51.100.24"));

  // Whom: the provider's id, and the user's sub keyed-hashed (the default), one hash for the
  // one user on every line that knows it; never the sub itself.
  const named = lines.filter((l) => ["login.succeeded", "refresh.succeeded"].includes(l.event) || l.reason === "logout" || l.reason === "admin");
  assert.ok(named.length >= 5, JSON.stringify(named));
  for (const l of named) assert.equal(l.provider, "default", JSON.stringify(l));
  const hashes = new Set(named.map((l) => l.sub));
  assert.equal(hashes.size, 1, JSON.stringify(named));
  assert.match([...hashes][0], /^[0-9a-f]{16}$/);
  assert.ok(!lines.some((l) => l.sub === "demo"), "a clear sub in the log");
  assert.ok(seen("session.ended", (l) => l.reason === "backchannel" && l.provider === "default" && l.sub === [...hashes][0]));
  assert.ok(seen("rate.limited", (l) => l.ip === "198.51.100.22" && l.reason === "ip"));

  const log = stack.worker.output();
  assert.ok(secrets.size >= 5, `${secrets.size} secrets collected`);
  for (const secret of secrets) assert.ok(!log.includes(secret), `the log holds a value the run produced: ${secret.slice(0, 12)}…`);

  // One data point per audit line: blobs event, reason, route, IP; doubles status, 1; index event.
  const counted = (event) => points.filter((p) => p.index === event && p.blobs[0] === event);
  assert.equal(counted("login.succeeded").length, lines.filter((l) => l.event === "login.succeeded").length);
  const failedLogin = counted("login.failed");
  assert.equal(failedLogin.length, 1, JSON.stringify(points));
  // No provider: the callback had no login of this browser's to name one.
  assert.deepEqual(failedLogin[0].blobs, ["login.failed", "invalid_state", "/auth/login/end", "198.51.100.20", ""]);
  const succeeded = counted("login.succeeded")[0];
  assert.equal(succeeded.blobs[4], "default", JSON.stringify(succeeded));
  assert.deepEqual(failedLogin[0].doubles, [400, 1]);
  assert.equal(points.length, lines.length, "one data point per event");
});

test("README's metrics queries, run in ClickHouse (chDB) over the data points this run wrote", () => {
  // The queries as the README shows them: its one ```sql block under "Audit and metrics".
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Audit and metrics"));
  const block = section.slice(section.indexOf("```sql") + 6, section.indexOf("```", section.indexOf("```sql") + 6));
  const queries = block.split(/\n(?=--)/).map((q) => q.trim()).filter((q) => q.startsWith("--"));
  assert.equal(queries.length, 2, block);
  const now = Math.floor(Date.now() / 1000);
  const rows = points.filter((p) => p.index).map((p) => ({ timestamp: p.at, index1: p.index, blobs: p.blobs, doubles: p.doubles }));
  // Plus two points of the past that each query's window must leave out.
  rows.push({ timestamp: now - 11 * 60, index1: "login.failed", blobs: ["login.failed", "invalid_state", "/auth/login/end", "198.51.100.99", ""], doubles: [400, 1] });
  rows.push({ timestamp: now - 25 * 3600, index1: "refresh.refused", blobs: ["refresh.refused", "session_expired", "/auth/refresh", "198.51.100.99", ""], doubles: [401, 1] });
  const python = join(ROOT, "target", "metrics-sql", "venv", "bin", "python");
  assert.ok(existsSync(python), `${python} is missing: run scripts/setup.sh`);
  const run = spawnSync(python, [join(ROOT, "tests", "metrics-sql", "run.py")], {
    input: JSON.stringify({ points: rows, queries }),
    encoding: "utf8",
    env: { ...process.env, TZ: "UTC" },
  });
  assert.equal(run.status, 0, run.stderr);
  const [failedPerIp, refusalsPerHour] = JSON.parse(run.stdout);
  // The run's failed login came from 198.51.100.20; the one 11 minutes old is outside the window.
  const expected = points.filter((p) => p.index === "login.failed");
  // (ClickHouse writes a 64-bit sum as a string in JSON.)
  assert.deepEqual(failedPerIp.map((r) => [r.ip, Number(r.failures)]), [["198.51.100.20", expected.length]]);
  // The run's one refresh refusal, in this hour, with its reason; the day-old one left out.
  assert.equal(refusalsPerHour.length, 1, JSON.stringify(refusalsPerHour));
  assert.equal(refusalsPerHour[0].reason, "unauthorized");
  assert.equal(Number(refusalsPerHour[0].refusals), 1);
  const refused = points.find((p) => p.index === "refresh.refused");
  assert.equal(Date.parse(`${refusalsPerHour[0].hour.replace(" ", "T")}Z`) / 1000, refused.at - (refused.at % 3600));
});

test("a configuration that does not validate: config.invalid in the log for each request, a fixed answer", async () => {
  // The same bundle with one bad value, in a second workerd process.
  const port = WORKER_PORT + 3;
  const worker = await startWorker({
    runtime: "workerd",
    port,
    config: "tests/integration/config/audit.toml",
    bundle: process.env.TEST_WORKER_BUNDLE ?? join(ROOT, "build", "worker"),
    metricsSink: `127.0.0.1:${SINK_PORT}`,
    vars: { EDGEWARD_AUDIT_SUB: "sha1" },
  });
  try {
    const res = await fetch(`http://localhost:${port}/auth/refresh?x=QUERY-NEVER-LOGGED`, {
      method: "POST",
      headers: { "cf-connecting-ip": "203.0.113.30", "cf-ray": "8f1b2c3d4e5f6a7b-AMS" },
    });
    const body = await res.json();
    assert.deepEqual([res.status, body.code], [500, "config_invalid"]);
    // It names the variable (README "Configuration"), never a secret's value.
    assert.match(body.message, /EDGEWARD_AUDIT_SUB/);
    await new Promise((r) => setTimeout(r, 300));
    const output = worker.output();
    const line = output
      .split("\n")
      .map((l) => l.slice(l.indexOf("{")))
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      })
      .find((l) => l.event === "config.invalid" && l.ip === "203.0.113.30");
    assert.ok(line, output.slice(-2000));
    assert.equal(line.status, res.status);
    assert.equal(line.route, "/auth/refresh");
    assert.equal(line.request_id, "8f1b2c3d4e5f6a7b-AMS");
    assert.ok(!output.includes("QUERY-NEVER-LOGGED"));
  } finally {
    await worker.stop();
  }
});
