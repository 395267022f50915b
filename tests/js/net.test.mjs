// The worker's JavaScript crossings (edge/worker/js/net.mjs), run in Node: the parts whose
// decisions live in JavaScript, each held to what the Rust side states. No stack: seconds.
//
// The same code runs in workerd under tests/integration/ (requests.test.mjs and
// review4-adapter.test.mjs go through it on every proxied and outgoing call); here each rule is
// met head-on, including with answers a runtime never gives, such as a call into the core that
// answers nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  answerHeaders,
  appendList,
  edgewardExchange,
  edgewardProxy,
  edgewardTlsClientAuth,
  headerList,
  readCapped,
  rulesOf,
  toHeaders,
} from "../../edge/worker/js/net.mjs";

const SCRIPT_AS = "text/plain; charset=utf-8";

/**
 * A route's rules in the text form net.rs `rules_of` writes (written out here: the integration
 * suites go through the real one, review4-adapter.test.mjs holding the two paths to each other).
 */
function rules({ passed = ["content-type", "content-length", "cache-control", "x-trace"], added = "x-content-type-options:nosniff\n" } = {}) {
  return rulesOf(`${passed.join(",")}\n\nlocation,www-authenticate\n\n${SCRIPT_AS}\n\n${added}`);
}

/** The core's side of the answer as the Rust hooks give it: `contentType` says what the browser gets. */
function hooks(contentType) {
  const asked = [];
  return {
    asked,
    contentType(token, value) {
      asked.push(value);
      return contentType(value);
    },
  };
}

const sameType = (value) => (/javascript|ecmascript/i.test(value) ? SCRIPT_AS : value);
const pairs = (headers) => [...headers].map(([n, v]) => `${n}: ${v}`);

test("a header list crosses as name:value lines, a value with colons and an empty value intact", () => {
  const headers = new Headers([
    ["x-time", "12:30:01"],
    ["x-empty", ""],
    ["accept", "*/*"],
  ]);
  const list = headerList(headers);
  assert.equal(list, "accept:*/*\nx-empty:\nx-time:12:30:01\n");
  assert.deepEqual(pairs(toHeaders(list)), pairs(headers));
  // A line without a colon (none is written) is skipped, not read as a name.
  const out = new Headers();
  appendList(out, "bogus\nx-a:1");
  assert.deepEqual(pairs(out), ["x-a: 1"]);
});

test("the answer keeps the route's passed names, drops what Connection lists, adds the route's and the request's headers", () => {
  const upstream = new Headers({
    "content-type": "application/json",
    "content-length": "2",
    "x-trace": "abc",
    "x-internal": "secret-host.internal",
    // Listed second, in another case, with spaces: still the name x-trace.
    connection: "Keep-Alive,  X-Trace ",
  });
  const out = answerHeaders(hooks(sameType), "t", rules(), upstream, "access-control-allow-origin:https://app.example\n");
  assert.deepEqual(pairs(out), [
    "access-control-allow-origin: https://app.example",
    "content-length: 2",
    "content-type: application/json",
    "x-content-type-options: nosniff",
  ]);
});

test("an answer with a judged header or a value outside visible ASCII is left to the core", () => {
  for (const [name, value] of [
    ["location", "/elsewhere"],
    ["www-authenticate", 'Bearer error="invalid_token"'],
  ]) {
    const upstream = new Headers({ "content-type": "application/json", [name]: value });
    assert.equal(answerHeaders(hooks(sameType), "t", rules(), upstream, ""), null, name);
  }
  const upstream = new Headers({ "x-trace": "caf\u00e9" });
  assert.equal(answerHeaders(hooks(sameType), "t", rules(), upstream, ""), null);
});

test("a script Content-Type is sent as the core says, and each value is asked of the core once", () => {
  const h = hooks(sameType);
  const type = "application/javascript; x-once=1";
  for (let i = 0; i < 3; i++) {
    const out = answerHeaders(h, "t", rules(), new Headers({ "content-type": type }), "");
    assert.equal(out.get("content-type"), SCRIPT_AS);
  }
  assert.deepEqual(h.asked, [type]);
});

// Attack: the core's verdict on a Content-Type is the only thing the JavaScript remembers across
// requests. A call into a wasm instance that can no longer answer returns undefined (entry.mjs's
// guard); taken as a verdict, the browser would get `content-type: undefined` for a script the
// core would have sent as text. Such an answer is neither used nor kept: the answer goes to the
// core (null), and the next request asks again.
test("a Content-Type verdict that is not one of the core's two answers is neither used nor kept", () => {
  const type = "text/javascript; x-dead=1";
  const dead = hooks(() => undefined);
  assert.equal(answerHeaders(dead, "t", rules(), new Headers({ "content-type": type }), ""), null);
  const wrong = hooks(() => "text/html");
  assert.equal(answerHeaders(wrong, "t", rules(), new Headers({ "content-type": type }), ""), null);
  const live = hooks(sameType);
  const out = answerHeaders(live, "t", rules(), new Headers({ "content-type": type }), "");
  assert.equal(out.get("content-type"), SCRIPT_AS);
  assert.deepEqual(live.asked, [type], "asked again: nothing was kept from the dead or wrong answers");
});

/** A body of `total` bytes in 64 KiB chunks, counting how much of it was pulled. */
function counted(total) {
  const chunk = new Uint8Array(64 * 1024);
  const seen = { pulled: 0, cancelled: false };
  const body = new ReadableStream(
    {
      pull(controller) {
        if (seen.pulled >= total) return controller.close();
        seen.pulled += chunk.byteLength;
        controller.enqueue(chunk.slice());
      },
      cancel() {
        seen.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { body, seen };
}

const MAX = 1024 * 1024;

test("an answer framed by a Content-Length within the bound is read whole", async () => {
  const body = new Uint8Array(5000).fill(7);
  const read = await readCapped(new Response(body, { headers: { "content-length": "5000" } }), MAX);
  assert.deepEqual(read, body);
  const chunked = await readCapped(new Response(counted(256 * 1024).body), MAX);
  assert.equal(chunked.byteLength, 256 * 1024);
});

test("a declared length over the bound is refused unread", async () => {
  const { body, seen } = counted(64 * MAX);
  await assert.rejects(readCapped(new Response(body, { headers: { "content-length": String(MAX + 1) } }), MAX), /answer over/);
  assert.equal(seen.pulled, 0);
});

// Attack: a small Content-Length beside Transfer-Encoding: chunked (or a compressed body, which
// the runtime decodes as it reads) does not frame the body: workerd reads such an answer by its
// chunks, and arrayBuffer() would take all of it. Measured in workerd (README "Bodies in one
// call"); here the stream that stands for it is 64 MiB, and no more than the bound (and the chunk
// that passes it) may be pulled before the answer is given up.
test("a small Content-Length beside Transfer-Encoding or Content-Encoding does not make a body read whole", async () => {
  for (const other of [{ "transfer-encoding": "chunked" }, { "content-encoding": "gzip" }]) {
    const { body, seen } = counted(64 * MAX);
    const response = new Response(body, { headers: { "content-length": "20", ...other } });
    await assert.rejects(readCapped(response, MAX), /answer over/, JSON.stringify(other));
    assert.ok(seen.pulled <= MAX + 64 * 1024, `${JSON.stringify(other)}: ${seen.pulled} bytes pulled`);
    assert.ok(seen.cancelled, "the rest is cancelled");
  }
});

test("a body longer than its Content-Length (which Node's Response does not cut) is still refused past the bound", async () => {
  const response = new Response(new Uint8Array(2 * MAX), { headers: { "content-length": "20" } });
  await assert.rejects(readCapped(response, MAX), /answer over/);
});

test("what Cloudflare says of a client certificate crosses as three lines, whatever its values hold", () => {
  const request = { cf: { tlsClientAuth: { certPresented: "1", certVerified: "SUCCESS\nforged", certFingerprintSHA256: "ab12" } } };
  assert.equal(edgewardTlsClientAuth(request), "1\nSUCCESS forged\nab12");
  assert.equal(edgewardTlsClientAuth({ cf: {} }), "");
  assert.equal(edgewardTlsClientAuth({}), "");
});

/** A local server answering every path but /elsewhere with a redirect there. */
async function redirecting(run) {
  const server = createServer((req, res) => {
    if (req.url === "/elsewhere") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"followed":true}');
    } else {
      res.writeHead(302, { location: "/elsewhere", "content-type": "text/plain" }).end("see /elsewhere");
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await run(`http://127.0.0.1:${server.address().port}`);
  } finally {
    server.close();
  }
}

// Attack: an upstream (or an IdP) that redirects must not make the worker fetch another URL with
// the request's credentials (the phantom token, the client's secret): redirects are answered as
// they are, the proxy's Location judged by the core.
test("redirects are not followed: not by the agent's requests, not by the proxy", async () => {
  await redirecting(async (base) => {
    const exchanged = await edgewardExchange("GET", `${base}/start`, "authorization:Bearer secret\n", new Uint8Array(0), 5000, MAX);
    assert.equal(exchanged.status, 302);
    const judged = [];
    const proxyHooks = {
      ...hooks(sameType),
      answer(token, route, url, extra, upstream) {
        judged.push(new TextDecoder().decode(upstream));
        return "location:/api/elsewhere\n";
      },
      failed(token, extra, error) {
        throw error;
      },
    };
    const text = `content-type\n\nlocation,www-authenticate\n\n${SCRIPT_AS}\n\n`;
    const answer = await edgewardProxy(proxyHooks, "t", 0, text, "", "GET", `${base}/start`, "authorization:Bearer phantom\n", undefined);
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.get("location"), "/api/elsewhere");
    assert.match(judged[0], /^location:\/elsewhere$/m, "the Location went to the core");
  });
});
