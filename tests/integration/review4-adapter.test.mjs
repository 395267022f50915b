// Outside review of the worker adapter's JavaScript bridge (edge/worker/src/net.rs): header lists
// crossing as `name:value` lines, the proxied fetch on the runtime's own types, the agent's
// outgoing calls and their 10 s timeout. Requests the browser's fetch would refuse go over a raw
// TCP socket. The upstream behind /api/up/ is a Node server in this file (on TEST_API_PORT), so
// every header it receives and sends is under the test's control.
//
// Each test performs an attack; its comment says whether it failed on the code as it landed (and
// what fixed it) or documents a defence that held (HELD).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { gzipSync } from "node:zlib";
import { useStack, startWorker, ORIGIN, WORKER_PORT, API_PORT } from "../support/stack.mjs";
import { signIn } from "../support/session.mjs";

const UP = `http://127.0.0.1:${API_PORT}`;
const ROUTES = JSON.stringify([
  { prefix: "/api/up/", upstream: `${UP}/`, methods: ["GET", "HEAD", "POST", "PUT"] },
  { prefix: "/api/down/", upstream: "http://127.0.0.1:1/internal/", methods: ["GET"] },
]);

/** What the upstream received, by request path. */
const seen = new Map();
let redirectTargetHits = 0;

/** Writes a raw HTTP/1.1 answer on the request's socket (headers Node would refuse or join). */
function raw(req, head, body = "") {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  req.socket.end(Buffer.concat([Buffer.from(`${head}\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`, "latin1"), bytes]));
}

const upstream = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  seen.set(req.url, { method: req.method, headers: req.headers, raw: req.rawHeaders, bodyLength: body.length });
  const path = req.url.split("?")[0];
  switch (path) {
    case "/echo":
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ method: req.method, headers: req.headers, bodyLength: body.length }));
    case "/two-types":
      return raw(req, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-type: text/javascript", "alert(document.domain)//");
    case "/listed-type":
      return raw(req, "HTTP/1.1 200 OK\r\ncontent-type: text/plain, text/javascript", "alert(document.domain)//");
    case "/bad-headers":
      return raw(
        req,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nset-cookie: __Host-edgeward-at=evil; Path=/; Secure\r\n" +
          "Set-Cookie: other=1\r\naccess-control-allow-origin: *\r\nx-edgeward-csrf: evil\r\n" +
          "x-note: caf\xe9\r\ncache-control: private,\r\n  no-store\r\nlocation: http://127.0.0.1:1/secret",
        "{}",
      );
    case "/headers": {
      // The answer's header lines from the query (base64url JSON of [name, value] pairs), as
      // written; `judged=1` adds a Bearer challenge, which sends the answer to the core.
      const query = new URL(req.url, UP).searchParams;
      const pairs = JSON.parse(Buffer.from(query.get("h"), "base64url").toString("latin1"));
      if (query.get("judged") === "1") pairs.push(["WWW-Authenticate", "Bearer"]);
      return raw(req, ["HTTP/1.1 200 OK", ...pairs.map(([n, v]) => `${n}: ${v}`)].join("\r\n"), "{}");
    }
    case "/redirect":
      res.writeHead(302, { location: `${UP}/redirect-target`, "content-type": "text/plain" });
      return res.end("moved");
    case "/redirect-target":
      redirectTargetHits += 1;
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"followed":true}');
    case "/gzip": {
      const payload = JSON.stringify({ data: "x".repeat(50_000) });
      const zipped = gzipSync(payload);
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": zipped.length });
      return res.end(zipped);
    }
    case "/big": {
      const size = Number(new URL(req.url, UP).searchParams.get("bytes"));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
      return res.end(Buffer.alloc(size, 0x61));
    }
    default:
      res.writeHead(404, { "content-type": "application/json" });
      return res.end("{}");
  }
});
await new Promise((r) => upstream.listen(API_PORT, "127.0.0.1", r));
after(() => {
  upstream.closeAllConnections?.();
  upstream.close();
});

useStack({ idp: true, worker: { vars: { EDGEWARD_API_ROUTES: ROUTES } } });

/**
 * A raw HTTP/1.1 request to `port` (bytes as given, latin1): its status, header lines (raw, in
 * order) and body.
 */
function rawRequest(head, body = Buffer.alloc(0), port = WORKER_PORT) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error("no answer in 30 s")));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("end", () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      const lines = all.subarray(0, split).toString("latin1").split("\r\n");
      const status = Number(lines[0].split(" ")[1]);
      resolve({ status, lines: lines.slice(1), body: all.subarray(split + 4) });
    });
    socket.write(Buffer.concat([Buffer.from(`${head}\r\nhost: localhost:${port}\r\nconnection: close\r\n\r\n`, "latin1"), body]));
  });
}

const headerValues = (lines, name) =>
  lines.filter((l) => l.toLowerCase().startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trim());

/** The last type of a Content-Type list, as a browser takes it (Fetch "extract a MIME type"). */
const browserMime = (value) =>
  (value ?? "")
    .split(",")
    .map((p) => p.split(";")[0].trim().toLowerCase())
    .filter((e) => e.includes("/") && e !== "*/*")
    .at(-1);

let session;
const signedIn = async () => (session ??= await signIn());

// FAILED on the code as it landed (see edge/core/tests/review4_adapter.rs): the runtime's Headers
// join the upstream's two Content-Type headers into one value, the core judged its first type
// only, and the browser got `application/json, text/javascript` (a script to it, on our origin).
// Failure line: `application/json, text/javascript is a script to a browser`.
test("an upstream's second Content-Type does not make its answer a script", async () => {
  const { jar } = await signedIn();
  for (const path of ["two-types", "listed-type"]) {
    const res = await jar.fetch(`${ORIGIN}/api/up/${path}`);
    assert.equal(res.status, 200, path);
    const type = res.headers.get("content-type");
    assert.ok(!/script/.test(browserMime(type)), `${type} is a script to a browser`);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    await res.arrayBuffer();
  }
});

// HELD: what the upstream gets is the allow-list and the minted bearer, whatever the browser
// sends: no Cookie, no Authorization of its own, no Host, CF-*, forwarding or hop-by-hop headers,
// no body on a GET even when one is declared, header names in odd case treated as the same names.
test("the upstream gets only allow-listed headers, and no body on a GET", async () => {
  const { jar } = await signedIn();
  const cookie = jar.header(ORIGIN);
  const res = await rawRequest(
    [
      "GET /api/up/echo?get HTTP/1.1",
      `CoOkIe: ${cookie}`,
      "AUTHORIZATION: Bearer spoofed",
      "X-Forwarded-For: 6.6.6.6",
      "CF-Connecting-IP: 6.6.6.6",
      "Forwarded: for=6.6.6.6;host=evil.example",
      "X-Original-URL: /admin",
      "Proxy-Authorization: Basic c2VjcmV0",
      "TE: trailers",
      "X-Request-Id: r-1",
      "Accept: application/json",
      "X-Edgeward-Csrf: x",
      "content-length: 5",
    ].join("\r\n"),
    Buffer.from("hello"),
  );
  assert.equal(res.status, 200, res.body.toString());
  const got = seen.get("/echo?get");
  assert.equal(got.method, "GET");
  assert.equal(got.bodyLength, 0, "no body on a GET");
  assert.match(got.headers.authorization, /^Bearer eyJ/);
  assert.equal(got.headers.host, `127.0.0.1:${API_PORT}`);
  assert.equal(got.headers["x-request-id"], "r-1");
  for (const name of ["cookie", "forwarded", "x-original-url", "proxy-authorization", "te", "x-edgeward-csrf"]) {
    assert.equal(got.headers[name], undefined, `${name} reached the upstream: ${JSON.stringify(got.headers)}`);
  }
  for (const [name, value] of Object.entries(got.headers)) {
    assert.ok(!String(value).includes("6.6.6.6"), `${name}: ${value} reached the upstream`);
    assert.ok(!String(value).includes("spoofed"), `${name}: ${value} reached the upstream`);
  }
});

// HELD: a request header value the runtime's parser accepts but the bridge's `name:value` lines
// or the `http` crate cannot carry (a byte over 0x7F, DEL, an obs-fold continuation, a colon,
// a second Cookie line) is answered without a 500, without a hang, and never forwarded mangled:
// the worst is a refused request or a header left out. (An obs-fold continuation reaches the
// worker with its line break made spaces, inside the one value, as RFC 9112 §5.2 allows.)
test("odd request header values are refused or left out, never a 500", async () => {
  const { jar } = await signedIn();
  const cookie = jar.header(ORIGIN);
  const cases = [
    ["latin1", "x-request-id: caf\xe9"],
    ["utf-8", `x-request-id: ${Buffer.from("café", "utf8").toString("latin1")}`],
    ["del", "x-request-id: a\x7fb"],
    ["obs-fold", "x-request-id: a\r\n cookie: injected=1"],
    ["obs-fold-tab", "accept: a\r\n\tauthorization: Bearer spoofed"],
    ["colons", "x-request-id: a:b:c"],
    ["second cookie line", "cookie: other=1"],
  ];
  const outcomes = [];
  for (const [what, line] of cases) {
    const path = `/echo?odd=${encodeURIComponent(what)}`;
    const res = await rawRequest([`GET /api/up${path} HTTP/1.1`, `cookie: ${cookie}`, line].join("\r\n"));
    const got = seen.get(path);
    outcomes.push(`${what}: ${res.status} upstream ${got ? JSON.stringify(got.headers["x-request-id"] ?? got.headers.accept) : "-"}`);
    assert.ok(res.status < 500, `${what}: ${res.status} ${res.body}`);
    if (got) {
      assert.match(got.headers.authorization, /^Bearer eyJ/, what);
      assert.equal(got.headers.cookie, undefined, what);
      // A folded line is one value (its line break made spaces), never a header of its own.
      const names = Object.keys(got.headers).sort();
      assert.deepEqual(names, ["accept", "authorization", "cf-worker", "host", "x-request-id"].filter((n) => names.includes(n)), what);
      assert.equal(got.headers["injected"], undefined, what);
    }
  }
  console.log(outcomes.join("\n"));
});

// HELD: of the upstream's answer headers the browser gets only the allow-listed ones: no
// Set-Cookie (one of them named like our access cookie), no CORS, none of ours, no Location
// outside the route; a folded value arrives as one value or not at all.
test("the upstream's cookies, CORS and own headers never reach the browser", async () => {
  const { jar } = await signedIn();
  const res = await rawRequest(["GET /api/up/bad-headers HTTP/1.1", `cookie: ${jar.header(ORIGIN)}`].join("\r\n"));
  assert.equal(res.status, 200, res.body.toString());
  const names = res.lines.map((l) => l.split(":")[0].toLowerCase());
  for (const name of ["set-cookie", "access-control-allow-origin", "x-edgeward-csrf", "location", "x-note"]) {
    assert.ok(!names.includes(name), `${name} reached the browser: ${res.lines.join(" | ")}`);
  }
  for (const value of headerValues(res.lines, "cache-control")) assert.doesNotMatch(value, /[\r\n]/);
});

// The worker makes a proxied answer's headers in JavaScript by the core's rules for the route
// (AnswerRules) unless the answer has a header only the core judges; a core test holds the rules
// to the core's filter, and this one holds the JavaScript that applies them: the same upstream
// answers, once as they are and once with a Bearer challenge added (which sends them to the
// core), must reach the browser with the same headers, challenge aside. The answers are drawn
// from headers of every kind: passed, dropped, ours, added by the worker, Connection lists in odd
// shapes, script and other types, repeated names, mixed case.
test("a proxied answer's headers are the same whether JavaScript or the core filters them", async () => {
  const { jar } = await signedIn();
  const pool = [
    ["Content-Type", "application/json"],
    ["content-type", "text/javascript"],
    ["Content-Type", "TEXT/JavaScript; charset=utf-8"],
    ["content-type", "text/plain, application/x-javascript"],
    ["Cache-Control", "no-store"],
    ["cache-control", "private"],
    ["ETag", '"v1"'],
    ["Vary", "Accept"],
    ["X-Request-Id", "abc"],
    ["Retry-After", "5"],
    ["Set-Cookie", "a=b"],
    ["Access-Control-Allow-Origin", "*"],
    ["X-Edgeward-Csrf", "evil"],
    ["X-Content-Type-Options", "none"],
    ["Content-Security-Policy", "default-src *"],
    ["Cross-Origin-Resource-Policy", "cross-origin"],
    ["Server", "upstream"],
    ["X-Other", "1\t2"],
    ["Connection", "keep-alive"],
    ["Connection", " ETag ,VARY"],
    ["connection", "x-request-id, , close"],
    ["Keep-Alive", "timeout=5"],
    ["Content-Language", "en"],
  ];
  let seed = 20261201;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % 1000003;
  };
  // What the browser sees (names in lower case, repeated ones joined), the runtime's framing and
  // the challenge aside.
  const seenHeaders = (res) =>
    [...res.headers].filter(([name]) => !["www-authenticate", "date", "content-length", "transfer-encoding", "connection", "keep-alive"].includes(name));
  // A few shapes first that must differ from a plain name filter, then drawn ones.
  const fixed = [
    [["Connection", " ETag ,VARY"], ["ETag", '"v1"'], ["Vary", "Accept"], ["Content-Type", "application/json"]],
    [["connection", "x-request-id, , close"], ["X-Request-Id", "abc"], ["Cache-Control", "no-store"]],
    [["Content-Type", "text/javascript"], ["X-Content-Type-Options", "none"], ["Set-Cookie", "a=b"]],
  ];
  for (let i = 0; i < 80; i++) {
    const pairs = fixed[i] ?? Array.from({ length: next() % 8 }, () => pool[next() % pool.length]);
    const h = Buffer.from(JSON.stringify(pairs), "latin1").toString("base64url");
    const js = await jar.fetch(`${ORIGIN}/api/up/headers?h=${h}&judged=0`);
    const core = await jar.fetch(`${ORIGIN}/api/up/headers?h=${h}&judged=1`);
    await Promise.all([js.arrayBuffer(), core.arrayBuffer()]);
    assert.equal(js.status, 200, JSON.stringify(pairs));
    assert.equal(core.status, 200, JSON.stringify(pairs));
    assert.equal(core.headers.get("www-authenticate"), "Bearer", `the core's path: ${JSON.stringify([...core.headers])}`);
    assert.deepEqual(seenHeaders(js), seenHeaders(core), JSON.stringify(pairs));
  }
});

// HELD: a redirect from the upstream is passed back, not followed (the worker does not fetch
// where an upstream points it), and a Location outside the route is dropped.
test("an upstream redirect is passed back, not followed", async () => {
  const { jar } = await signedIn();
  const res = await jar.fetch(`${ORIGIN}/api/up/redirect`, { redirect: "manual" });
  assert.equal(res.status, 302);
  assert.equal(redirectTargetHits, 0, "the worker followed the redirect");
  assert.equal(res.headers.get("location"), "/api/up/redirect-target");
  await res.arrayBuffer();
});

// HELD: bodies stream both ways intact: a gzip answer with its Content-Length (the runtime
// decodes and re-encodes it), 8 MB up and 8 MB down, a HEAD without a body.
test("bodies cross intact: gzip, 8 MB each way, HEAD", async () => {
  const { jar, csrf } = await signedIn();
  const gz = await jar.fetch(`${ORIGIN}/api/up/gzip`);
  assert.equal(gz.status, 200);
  assert.equal((await gz.json()).data.length, 50_000);

  const size = 8 * 1024 * 1024;
  const down = await jar.fetch(`${ORIGIN}/api/up/big?bytes=${size}`);
  assert.equal(down.status, 200);
  assert.equal((await down.arrayBuffer()).byteLength, size);

  const up = await jar.fetch(`${ORIGIN}/api/up/echo?put`, {
    method: "PUT",
    headers: { origin: ORIGIN, "x-edgeward-csrf": csrf, "content-type": "application/octet-stream" },
    body: Buffer.alloc(size, 0x62),
  });
  assert.equal(up.status, 200, await up.clone().text());
  assert.equal((await up.json()).bodyLength, size);

  const head = await jar.fetch(`${ORIGIN}/api/up/big?bytes=10`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal((await head.arrayBuffer()).byteLength, 0);
  assert.equal(seen.get("/big?bytes=10").method, "HEAD");
});

// HELD: an upstream that cannot be reached is a 502 with a fixed message: no internal URL, no
// runtime error text.
test("an unreachable upstream is a 502 naming nothing internal", async () => {
  const { jar } = await signedIn();
  const res = await jar.fetch(`${ORIGIN}/api/down/x`);
  const text = await res.text();
  assert.equal(res.status, 502, text);
  assert.deepEqual(Object.keys(JSON.parse(text)).sort(), ["code", "message"]);
  assert.doesNotMatch(text, /127\.0\.0\.1|internal|:1\/|TypeError|fetch/i);
});

// The agent's outgoing call gives up after 10 s even when the answer's head came at once and
// its body never finishes (a discovery document dripped a byte a second): the timeout covers
// the whole answer, not just its head.
test("an IdP whose answer never finishes is a 502 after the outgoing timeout", async () => {
  const timers = new Set();
  const drip = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
    res.write("{");
    const timer = setInterval(() => res.write(" "), 1000);
    timers.add(timer);
    res.on("close", () => clearInterval(timer));
  });
  await new Promise((r) => drip.listen(0, "127.0.0.1", r));
  const port = WORKER_PORT + 1;
  const worker = await startWorker({ port, vars: { OIDC_ISSUER: `http://127.0.0.1:${drip.address().port}`, EDGEWARD_API_ROUTES: ROUTES } });
  try {
    const origin = `http://localhost:${port}`;
    const started = Date.now();
    const res = await fetch(`${origin}/auth/login/start`, {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: "{}",
      signal: AbortSignal.timeout(60_000),
    });
    const elapsed = Date.now() - started;
    const body = await res.json();
    assert.equal(res.status, 502, JSON.stringify(body));
    assert.equal(body.code, "idp_unavailable");
    assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1/);
    assert.ok(elapsed >= 9_000 && elapsed < 30_000, `answered after ${elapsed} ms`);
  } finally {
    await worker.stop();
    for (const t of timers) clearInterval(t);
    drip.closeAllConnections?.();
    drip.close();
  }
});

// FAILED on the code as it landed: the agent's outgoing calls read an answer whole into memory
// (`arrayBuffer()`), then copied it into wasm, with no bound: a discovery document padded to
// 48 MiB (plain, or gzip-compressed to some 50 KB that the runtime inflates as it reads) was held
// twice in an isolate of 128 MB serving other requests, and parsed. Failure line (wrangler dev,
// dev build): `The operation was aborted due to timeout; the IdP was asked 2 time(s)`: no answer
// in 30 s, the 10 s timeout never fired, workerd's log flooded with `Too many open files`.
// Fixed in edge/worker/src/net.rs (`readCapped`): at most 1 MiB (`OUTGOING_MAX_BYTES`), a larger
// declared length refused unread, a body growing past it cancelled; 502 idp_unavailable.
// An answer framed by its Content-Length is read in one call (readCapped's fast path); one that
// declares a small length and is sent chunked all the same ("lying-length": workerd reads it as
// chunked and shows both headers) must still be read chunk by chunk and given up past the bound.
// The stand-in then writes in 64 KiB steps, waiting for each to drain, and counts what left it:
// read whole, all 48 MiB would.
test("an IdP answer far larger than any real one is refused, not read whole", async () => {
  for (const encoding of ["identity", "gzip", "lying-length"]) {
    let asked = 0;
    let written = 0;
    const big = http.createServer(async (req, res) => {
      asked += 1;
      const padding = "x".repeat(48 * 1024 * 1024);
      const base = `http://127.0.0.1:${big.address().port}`;
      const doc = JSON.stringify({ issuer: base, authorization_endpoint: `${base}/auth`, token_endpoint: `${base}/token`, jwks_uri: `${base}/jwks`, padding });
      if (encoding === "lying-length") {
        res.writeHead(200, { "content-type": "application/json", "content-length": "100", "transfer-encoding": "chunked" });
        let closed = false;
        res.on("close", () => (closed = true));
        for (let at = 0; at < doc.length && !closed; at += 65536) {
          if (!res.write(doc.slice(at, at + 65536))) await new Promise((r) => (res.once("drain", r), res.once("close", r)));
          if (!closed) written += 65536;
        }
        return res.end();
      }
      if (encoding === "gzip") {
        const zipped = gzipSync(doc);
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": zipped.length });
        return res.end(zipped);
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(doc);
    });
    await new Promise((r) => big.listen(0, "127.0.0.1", r));
    const port = WORKER_PORT + 2;
    let worker;
    try {
      // (Inside the try: a worker that fails to start must not leave the IdP stand-in open, or
      // the file would wait for it until its timeout.)
      worker = await startWorker({ port, vars: { OIDC_ISSUER: `http://127.0.0.1:${big.address().port}`, EDGEWARD_API_ROUTES: ROUTES } });
      const origin = `http://localhost:${port}`;
      const res = await fetch(`${origin}/auth/login/start`, {
        method: "POST",
        headers: { origin, "content-type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(30_000),
      }).catch((e) => {
        throw new Error(`${encoding}: ${e.message}; the IdP was asked ${asked} time(s)`);
      });
      const body = await res.json();
      assert.equal(res.status, 502, `${encoding}: a 48 MiB discovery document was read: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      assert.equal(body.code, "idp_unavailable");
      await new Promise((r) => setTimeout(r, 500));
      assert.match(worker.output(), /answer over \d+ bytes/, encoding);
      if (encoding === "lying-length") assert.ok(written < 16 * 1024 * 1024, `${encoding}: ${written} bytes of the answer were taken`);
    } finally {
      await worker?.stop();
      big.closeAllConnections?.();
      big.close();
    }
  }
});
