// What the worker accepts of a request, against workerd (issue 12, item 6): a session's cookies
// split over several `Cookie` fields, the body limit on `/auth/*` (declared, chunked, and a body
// that never ends), and the media types of the JSON and form endpoints.
//
// Requests go through node's `http.request` with raw header arrays: fetch() would merge repeated
// fields and set its own Content-Type and Content-Length.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { useStack, startWorker, ORIGIN, WORKER_PORT } from "../support/stack.mjs";
import { rawCall } from "../support/raw.mjs";
import { signIn } from "../support/session.mjs";

useStack({ idp: true, worker: true, api: true });

/** The core's limit on `/auth/*` bodies (`edgeward_core::body::MAX_BODY_BYTES`). */
const MAX_BODY = 16 * 1024;
const HOST = `localhost:${WORKER_PORT}`;

/**
 * Sends one request; `headers` is a flat [name, value, …] array sent line by line, as given.
 * `body` is a Buffer/string (sent with end()) or an async function that writes to the request
 * itself (`write(chunk)` resolves once the chunk is taken, `answered()` says whether the response
 * has begun). Resolves with { status, json, text, complete }.
 *
 * Every wait is bounded, so that a lost answer fails the test instead of stalling the run: no
 * response head within `headMs` rejects; a body that has not ended `bodyMs` after the head
 * resolves with what came and `complete: false`. The second happens under `wrangler dev` after a
 * refused request body: its proxy passes the worker's status line on and now and then loses the
 * body that follows (see `tooLarge`).
 */
function send(method, path, headers, body, { headMs = 30_000, bodyMs = 5_000 } = {}) {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: "localhost", port: WORKER_PORT, method, path, headers: ["host", HOST, ...headers], agent: false },
      (res) => {
        answered = true;
        clearTimeout(noHead);
        const chunks = [];
        const finish = (complete) => {
          clearTimeout(noEnd);
          const text = Buffer.concat(chunks).toString();
          let json;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, json, text, complete });
          if (!complete) req.destroy();
        };
        const noEnd = setTimeout(() => finish(false), bodyMs);
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => finish(true));
      },
    );
    const noHead = setTimeout(() => {
      reject(new Error(`${method} ${path}: no response within ${headMs} ms`));
      req.destroy();
    }, headMs);
    // The worker may answer and close before the body is sent: that is not an error here.
    req.on("error", (e) => (answered ? undefined : reject(e)));
    if (typeof body === "function") {
      req.flushHeaders(); // node holds the head back until the first write otherwise
      // A write the peer never takes (it answered and stopped reading) ends the writing.
      const write = (chunk) =>
        new Promise((ok) => {
          if (answered || req.destroyed || req.write(chunk)) return ok();
          const check = setInterval(() => (answered || req.destroyed) && done(), 50);
          const done = () => (clearInterval(check), ok());
          req.once("drain", done);
        });
      body({ write, answered: () => answered }).then(
        () => req.destroyed || req.end(),
        (e) => reject(e),
      );
    } else {
      req.end(body);
    }
  });
}

/**
 * The worker's cookies in the jar as `name=value` pairs: whichever and however many the session
 * has (the IdP, on localhost too, keeps its own cookies in the same jar; they are left out).
 */
function sessionPairs(jar) {
  const cookies = jar.cookies.get(new URL(ORIGIN).hostname) ?? new Map();
  return [...cookies].filter(([name]) => name.startsWith("__Host-edgeward-")).map(([n, c]) => `${n}=${c.value}`);
}

/**
 * `pairs` spread over `n` `Cookie` fields ([name, value, …]), with another site cookie first, so
 * that every field but the first begins with one of ours (where there are enough of them) and
 * every field boundary lands inside the session's cookies. Fields left empty get a filler.
 */
function cookieFields(pairs, n) {
  const groups = Array.from({ length: n }, () => []);
  groups[0].push("theme=dark");
  pairs.forEach((pair, i) => groups[(i + 1) % n].push(pair));
  groups.forEach((g, i) => g.length === 0 && g.push(`filler${i}=1`));
  return groups.flatMap((g) => ["cookie", g.join("; ")]);
}

test("a session's cookies split over 2 and 4 Cookie fields still read as signed in", async () => {
  const { jar } = await signIn();
  const pairs = sessionPairs(jar);
  assert.ok(pairs.length >= 1, "the jar holds the session's cookies");
  for (const n of [1, 2, 4]) {
    const fields = cookieFields(pairs, n);
    assert.equal(fields.length, 2 * n);
    const session = await send("GET", "/auth/session", fields);
    assert.equal(session.status, 200, `${n} fields: ${session.text}`);
    assert.equal(session.json.isLoggedIn, true, `${n} Cookie fields: /auth/session says ${session.text}`);
    const whoami = await send("GET", "/api/whoami/", fields);
    assert.equal(whoami.status, 200, `${n} Cookie fields: /api/whoami/ says ${whoami.text}`);
    assert.equal(whoami.json.sub, "demo");
  }
});

test("a text/plain POST (a form, no preflight) to a JSON endpoint is 415; the SPA's calls pass", async () => {
  const { jar, csrf } = await signIn();
  const cookies = cookieFields(sessionPairs(jar), 1);
  const json = ["origin", ORIGIN, "content-type", "application/json"];
  const plain = ["origin", ORIGIN, "content-type", "text/plain"];
  // What an allowed origin's <form enctype="text/plain"> or a no-cors fetch can send.
  for (const [path, body, headers] of [
    ["/auth/login/start", `{"returnTo":"/"}`, []],
    ["/auth/login/end", `{"pageUrl":"${ORIGIN}/callback?code=x&state=y"}`, []],
    ["/auth/logout", "{}", [...cookies, "x-edgeward-csrf", csrf]],
    ["/auth/refresh", "{}", [...cookies, "x-edgeward-csrf", csrf]],
  ]) {
    const res = await send("POST", path, [...plain, ...headers], body);
    assert.equal(res.status, 415, `${path}: ${res.text}`);
    assert.equal(res.json.code, "unsupported_media_type", path);
  }
  // A form post to the back-channel endpoint must be a form; JSON is refused.
  const bc = await send("POST", "/auth/backchannel-logout", ["content-type", "application/json"], `{"logout_token":"x"}`);
  assert.equal(bc.status, 415, bc.text);
  assert.equal(bc.json.code, "unsupported_media_type");

  // The SPA's own calls (app/src/api.rs): JSON with a body, and refresh without one.
  const start = await send("POST", "/auth/login/start", json, `{"returnTo":"/profile"}`);
  assert.equal(start.status, 200, start.text);
  const withCharset = await send(
    "POST",
    "/auth/login/start",
    ["origin", ORIGIN, "content-type", "Application/JSON; charset=UTF-8"],
    "{}",
  );
  assert.equal(withCharset.status, 200, withCharset.text);
  const refresh = await send("POST", "/auth/refresh", ["origin", ORIGIN, ...cookies, "x-edgeward-csrf", csrf]);
  assert.equal(refresh.status, 204, refresh.text);
});

test("a body at the limit is read (not refused as too large)", async () => {
  const body = `logout_token=${"a".repeat(MAX_BODY - "logout_token=".length)}`;
  assert.equal(body.length, MAX_BODY);
  const res = await send("POST", "/auth/backchannel-logout", ["content-type", "application/x-www-form-urlencoded"], body);
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.code, "logout_token_invalid");
});

// Bodies over the limit: the unauthenticated back-channel endpoint and a JSON endpoint. These
// tests come last: the worker refuses such a body unread (it cancels it), and `wrangler dev`'s
// proxy in front of the worker then loses the request that follows (a 503 "Your worker restarted
// mid-request", or no answer: cloudflare/workers-sdk#15709, a local-dev bug). Each refusal is
// therefore followed by one throwaway request (`settle`) before the next real one.

/**
 * Asserts a 413 payload_too_large, then lets wrangler dev's proxy recover (see above). The status
 * line always arrives; the JSON body after it is now and then lost by that proxy (the response
 * head, then nothing until the connection is reset: 12 of 37 refusals of a body that never ends, measured here). The code
 * is checked whenever the body came; a body that came only in part must still be the start of it.
 */
async function tooLarge(res, what) {
  assert.equal(res.status, 413, `${what}: ${res.text}`);
  if (res.complete) {
    assert.equal(res.json?.code, "payload_too_large", `${what}: ${res.text}`);
  } else {
    const expected = '{"code":"payload_too_large"';
    assert.ok(expected.startsWith(res.text.slice(0, expected.length)), `${what}: ${res.text}`);
    console.log(`${what}: 413 arrived, its body was lost by wrangler dev's proxy`);
  }
  await Promise.race([send("GET", "/auth/session", []).catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
}
const LARGE = [
  ["/auth/backchannel-logout", "application/x-www-form-urlencoded", `logout_token=${"a".repeat(MAX_BODY)}`],
  ["/auth/login/start", "application/json", JSON.stringify({ returnTo: `/${"a".repeat(MAX_BODY)}` })],
];

test("a body over the limit is 413 payload_too_large: declared by Content-Length", async () => {
  for (const [path, type, body] of LARGE) {
    const res = await send("POST", path, ["origin", ORIGIN, "content-type", type], body);
    await tooLarge(res, path);
  }
});

test("a body over the limit is 413 payload_too_large: chunked, without Content-Length", async () => {
  for (const [path, type, body] of LARGE) {
    const res = await send(
      "POST",
      path,
      ["origin", ORIGIN, "content-type", type, "transfer-encoding", "chunked"],
      async ({ write }) => {
        for (let i = 0; i < body.length; i += 1000) await write(body.slice(i, i + 1000));
      },
    );
    await tooLarge(res, path);
  }
});

test("a body that does not end is refused once it passes the limit, not read to the end", async () => {
  // 64 MiB at most; the worker should answer after about 16 KiB. A worker that reads bodies to
  // the end answers only after the last chunk. Each chunk waits a moment, so that an answer is
  // read before the next write meets the closed connection (workerd closes it after answering).
  // That closing with the client still sending is a reset, which can reach the client before
  // the answer and take it along (seen once in a CI run: `write ECONNRESET` after 5 ms): the
  // worker stopped reading early then too, but the 413 is not seen, so it is asked again (at
  // most three times).
  const chunk = Buffer.alloc(16 * 1024, "a");
  const attempt = async () => {
    let sent = 0;
    let endedFirst = false;
    const res = await send(
      "POST",
      "/auth/backchannel-logout",
      ["content-type", "application/x-www-form-urlencoded", "transfer-encoding", "chunked"],
      async ({ write, answered }) => {
        await write("logout_token=");
        while (!answered() && sent < 64 * 1024 * 1024) {
          await write(chunk);
          sent += chunk.length;
          await new Promise((r) => setTimeout(r, 1));
        }
        endedFirst = !answered();
      },
    );
    return { res, sent, endedFirst };
  };
  for (let tries = 1; ; tries++) {
    let outcome;
    try {
      outcome = await attempt();
    } catch (error) {
      if (error.code !== "ECONNRESET" || tries >= 3) throw error;
      continue;
    }
    assert.equal(outcome.endedFirst, false, `the worker answered only after the whole body (${outcome.sent} bytes)`);
    await tooLarge(outcome.res, "an endless body");
    return;
  }
});

test("a Content-Length over the limit is refused without waiting for the body", async () => {
  // The body promised is never sent: a worker that waits for it answers nothing. 20 s is a
  // generous bound for an answer that needs no body at all.
  const declared = String(1024 * 1024);
  const res = await Promise.race([
    send(
      "POST",
      "/auth/backchannel-logout",
      ["content-type", "application/x-www-form-urlencoded", "content-length", declared],
      async ({ answered }) => {
        const until = Date.now() + 20_000;
        while (!answered() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      },
    ),
    new Promise((r) => setTimeout(() => r({ status: "no answer within 20 s" }), 20_000)),
  ]);
  await tooLarge(res, "a declared body never sent");
});


/**
 * Sends `POST path` over a raw socket to `port` with both `Content-Length: 20` and
 * `Transfer-Encoding: chunked` (Node's client would not send both), then 16 KiB chunks until an
 * answer begins or `max` bytes went. Resolves with the status line's code, the bytes sent, and
 * whether the chunks ran out before any answer.
 */
async function smuggle(port, path, max) {
  let sent = 0;
  const outcome = await rawCall({ port }, async (socket, settled) => {
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        "Content-Length: 20\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    const chunk = `4000\r\n${"a".repeat(0x4000)}\r\n`;
    while (!settled() && sent < max) {
      if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
      sent += 0x4000;
      await new Promise((r) => setTimeout(r, 1));
    }
    if (!settled()) socket.write("0\r\n\r\n");
  });
  // A connection refused or reset before any chunk went is not an outcome of the body.
  if (!outcome.status && !outcome.timeout && sent === 0) throw new Error(`no chunk was sent: ${JSON.stringify(outcome)}`);
  return { status: outcome.status ?? 0, sent, endedFirst: Boolean(outcome.timeout), error: outcome.reset };
}

test("a small Content-Length beside Transfer-Encoding: chunked does not let a large body in whole", async () => {
  // The worker reads a body framed by its Content-Length in one call (no stream reader), any
  // other as a stream it gives up past the limit. A request that declares a small length and
  // still sends chunks (a smuggling shape, RFC 9112 §6.3) is read by workerd as chunked, with
  // both headers shown to the worker: it must not be read in one call, which would hold all the
  // chunks bring. Answered 413 (or refused) before 8 MiB of chunks end; in one workerd, where
  // the request arrives as sent, and through this suite's runtime.
  const port = WORKER_PORT + 3;
  const raw = await startWorker({ port, runtime: "workerd" });
  try {
    for (const [where, at] of [["one workerd", port], ["the suite's runtime", WORKER_PORT]]) {
      const outcome = await smuggle(at, "/auth/backchannel-logout", 8 * 1024 * 1024);
      assert.equal(outcome.endedFirst, false, `${where}: answered only after the whole body (${outcome.sent} bytes)`);
      assert.ok([0, 400, 413].includes(outcome.status), `${where}: status ${outcome.status}`);
      assert.ok(outcome.sent < 4 * 1024 * 1024, `${where}: ${outcome.sent} bytes were taken before the answer`);
    }
  } finally {
    await raw.stop();
  }
});
