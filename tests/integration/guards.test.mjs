// Issue 18's operational guards against the real runtime (workerd under `wrangler dev`, with the
// Rate Limiting bindings it simulates): CORS for an SPA on another origin of the site, what every
// /auth/* answer and every proxy 401 says, the limits on a request's cookies and head, and the
// rate limits. One stack for the suite, started with tests/integration/config/guards.toml.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { useStack, startWorker, ORIGIN, ROOT, WORKER_PORT } from "../support/stack.mjs";
import { signIn } from "../support/session.mjs";

/** The SPA's other origin, listed in EDGEWARD_CORS_ORIGINS (nothing serves it: only `Origin`). */
const APP = `http://localhost:${WORKER_PORT + 1}`;

const stack = useStack({
  idp: true,
  api: true,
  worker: {
    config: "tests/integration/config/guards.toml",
    vars: {
      EDGEWARD_ALLOWED_ORIGINS: APP,
      EDGEWARD_CORS_ORIGINS: APP,
      EDGEWARD_RATE_LIMIT_PERIOD: "10",
    },
  },
});

/** One signed-in session for the suite (one login: the per-IP limiter counts logins too). */
let signedIn;
const session = () => (signedIn ??= signIn());

const preflight = (origin, path, requested) =>
  fetch(`${ORIGIN}${path}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": requested },
  });

test("a listed origin's preflight is answered, with only the request headers the worker accepts", async () => {
  const res = await preflight(APP, "/api/echo/x", "content-type, x-edgeward-csrf, x-evil, authorization");
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("access-control-allow-origin"), APP);
  assert.equal(res.headers.get("access-control-allow-credentials"), "true");
  assert.equal(res.headers.get("access-control-allow-headers"), "content-type, x-edgeward-csrf");
  assert.match(res.headers.get("access-control-allow-methods"), /POST/);
  assert.ok(res.headers.get("access-control-max-age"));
  assert.equal(res.headers.get("vary"), "Origin, Access-Control-Request-Headers");
});

test("unlisted, null and look-alike origins get no CORS headers (preflight and actual)", async () => {
  for (const origin of [
    "https://evil.example",
    "null",
    `${APP}.evil.net`,
    `http://localhost:${WORKER_PORT + 1}0`,
    `https://localhost:${WORKER_PORT + 1}`,
  ]) {
    const pre = await preflight(origin, "/auth/refresh", "content-type");
    assert.equal(pre.status, 403, origin);
    assert.equal(pre.headers.get("access-control-allow-origin"), null, origin);
    const res = await (await session()).jar.fetch(`${ORIGIN}/auth/session`, { headers: { origin } });
    assert.equal(res.headers.get("access-control-allow-origin"), null, origin);
    assert.equal(res.headers.get("access-control-allow-credentials"), null, origin);
    assert.equal(res.headers.get("vary"), "Origin", origin);
  }
});

test("answers to a listed origin carry ACAO and credentials: the agent's, the proxied API's, errors", async () => {
  const cases = [
    ["/auth/session", 200],
    ["/api/whoami/", 200],
    ["/auth/nowhere", 404],
    ["/api/nowhere", 404],
  ];
  for (const [path, status] of cases) {
    const res = await (await session()).jar.fetch(`${ORIGIN}${path}`, { headers: { origin: APP } });
    assert.equal(res.status, status, path);
    assert.equal(res.headers.get("access-control-allow-origin"), APP, path);
    assert.equal(res.headers.get("access-control-allow-credentials"), "true", path);
    assert.match(res.headers.get("vary") ?? "", /Origin/, path);
    await res.arrayBuffer();
  }
});

test("every /auth/* answer is no-store; a proxy 401 carries a Bearer challenge", async () => {
  for (const [method, path] of [
    ["GET", "/auth/session"],
    ["GET", "/auth/providers"],
    ["DELETE", "/auth/session"],
    ["GET", "/auth/nowhere"],
    ["POST", "/auth/refresh"],
  ]) {
    const res = await fetch(`${ORIGIN}${path}`, { method, headers: { origin: ORIGIN } });
    assert.equal(res.headers.get("cache-control"), "no-store", `${method} ${path}: ${res.status}`);
    await res.arrayBuffer();
  }
  const res = await fetch(`${ORIGIN}/api/whoami/`);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("www-authenticate"), "Bearer");
});

test("too many cookies, a huge cookie, a huge head on /auth/*: 431 JSON, never a 500", async () => {
  const many = Array.from({ length: 80 }, (_, i) => `c${i}=v`).join("; ");
  const huge = `big=${"x".repeat(6000)}`;
  const pad = "y".repeat(7000);
  for (const [what, path, headers] of [
    ["many cookies", "/auth/session", { cookie: many }],
    ["a huge cookie", "/auth/session", { cookie: huge }],
    ["many cookies on the proxy", "/api/whoami/", { cookie: many }],
    ["a huge head", "/auth/session", { "x-a": pad, "x-b": pad, "x-c": pad, "x-d": pad, "x-e": pad }],
  ]) {
    const res = await fetch(`${ORIGIN}${path}`, { headers });
    assert.equal(res.status, 431, what);
    assert.equal((await res.json()).code, "request_headers_too_large", what);
  }
});

/**
 * Waits for the start of a 10 s window of the simulated limiter (aligned to the wall clock), so
 * that a burst of requests falls into one window.
 */
async function windowStart() {
  const into = Date.now() % 10_000;
  if (into > 1_000) await new Promise((r) => setTimeout(r, 10_000 - into + 50));
}

test("login/start is limited per client IP: 429 rate_limited with Retry-After; another IP is not", async () => {
  const ip = `203.0.113.${1 + Math.floor(Math.random() * 250)}`;
  const start = (from) =>
    fetch(`${ORIGIN}/auth/login/start`, {
      method: "POST",
      headers: { origin: ORIGIN, "content-type": "application/json", "cf-connecting-ip": from },
      body: "{}",
    });
  await windowStart();
  for (let i = 0; i < 5; i++) assert.equal((await start(ip)).status, 200, `request ${i + 1}`);
  const over = await start(ip);
  assert.equal(over.status, 429);
  assert.equal(over.headers.get("retry-after"), "10");
  assert.equal((await over.json()).code, "rate_limited");
  assert.equal((await start("198.51.100.9")).status, 200);
});

test("/api/* is limited per session and per service client's token", async () => {
  await windowStart();
  for (let i = 0; i < 5; i++) {
    const res = await (await session()).jar.fetch(`${ORIGIN}/api/whoami/`);
    assert.equal(res.status, 200, `request ${i + 1}`);
    await res.arrayBuffer();
  }
  const over = await (await session()).jar.fetch(`${ORIGIN}/api/whoami/`);
  assert.equal(over.status, 429);
  assert.equal((await over.json()).code, "rate_limited");
  // From an address of its own: each 401 also counts against the address, and this one has met
  // no other refusal (the suite's sign-in and earlier tests' 401s count against localhost).
  const bearer = {
    authorization: `Bearer not-a-token-${Math.random()}`,
    "cf-connecting-ip": `198.51.100.${1 + Math.floor(Math.random() * 250)}`,
  };
  for (let i = 0; i < 5; i++) assert.notEqual((await fetch(`${ORIGIN}/api/whoami/`, { headers: bearer })).status, 429);
  assert.equal((await fetch(`${ORIGIN}/api/whoami/`, { headers: bearer })).status, 429);
});

test("made-up session cookies and bearer tokens count against the address: the sixth is 429, before anything is opened", async () => {
  await windowStart();
  const from = (headers) => fetch(`${ORIGIN}/api/whoami/`, { headers: { "cf-connecting-ip": "192.0.2.77", ...headers } });
  for (let i = 0; i < 3; i++) assert.equal((await from({ cookie: `__Host-edgeward-at=made-up-${i}-${Math.random()}` })).status, 401, `cookie ${i + 1}`);
  for (let i = 0; i < 2; i++) assert.equal((await from({ authorization: `Bearer made-up-${i}-${Math.random()}` })).status, 401, `token ${i + 1}`);
  const over = await from({ cookie: `__Host-edgeward-at=made-up-${Math.random()}` });
  assert.equal(over.status, 429, "the sixth refusal from one address");
  assert.equal((await over.json()).code, "rate_limited");
  // Refused at once from then on, whatever it makes up; another address is not.
  assert.equal((await from({ authorization: `Bearer made-up-${Math.random()}` })).status, 429);
  const other = await fetch(`${ORIGIN}/api/whoami/`, { headers: { "cf-connecting-ip": "192.0.2.78", cookie: "__Host-edgeward-at=made-up" } });
  assert.equal(other.status, 401);
});

test("raw workerd provides [[ratelimits]] too (scripts/workerd-config.mjs): the same 429", async () => {
  // The bundle wrangler dev built for this suite, in one workerd process on the next port.
  const port = WORKER_PORT + 2;
  const worker = await startWorker({
    runtime: "workerd",
    port,
    config: "tests/integration/config/guards.toml",
    bundle: join(ROOT, "build", "worker"),
    vars: { EDGEWARD_RATE_LIMIT_PERIOD: "10" },
  });
  try {
    const start = () =>
      fetch(`http://localhost:${port}/auth/login/start`, {
        method: "POST",
        headers: { origin: `http://localhost:${port}`, "content-type": "application/json", "cf-connecting-ip": "192.0.2.1" },
        body: "{}",
      });
    await windowStart();
    for (let i = 0; i < 5; i++) assert.notEqual((await start()).status, 429, `request ${i + 1}`);
    const over = await start();
    assert.equal(over.status, 429);
    assert.equal(over.headers.get("retry-after"), "10");
  } finally {
    await worker.stop();
  }
});

// Last: it stops the example API, and the 413 (refused before its body was read) leaves
// wrangler dev's connection to the next request in a state it answers 503 on.
test("errors the adapter answers carry ACAO to a listed origin: the API unreachable, a body refused early", async () => {
  const { jar } = await session();
  await windowStart(); // a fresh window of the per-session limiter
  await stack.api.stop();
  const down = await jar.fetch(`${ORIGIN}/api/whoami/`, { headers: { origin: APP } });
  assert.equal(down.status, 502);
  assert.equal((await down.json()).code, "upstream_unavailable");
  assert.equal(down.headers.get("access-control-allow-origin"), APP, "the 502 of an unreachable API");
  assert.equal(down.headers.get("access-control-allow-credentials"), "true");
  const big = await fetch(`${ORIGIN}/auth/login/start`, {
    method: "POST",
    headers: { origin: APP, "content-type": "application/json", "cf-connecting-ip": "192.0.2.77" },
    body: JSON.stringify({ returnTo: "x".repeat(20_000) }),
  });
  assert.equal(big.status, 413);
  assert.equal(big.headers.get("access-control-allow-origin"), APP, "the 413 refused before the core");
});
