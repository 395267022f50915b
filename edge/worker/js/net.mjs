// The worker's crossings to the runtime, in JavaScript (edge/worker/src/net.rs imports the
// `edgeward*` functions through wasm-bindgen; the module docs there say why each step is one call).
// The other exports are for tests/js/net.test.mjs, which runs them in Node against the rules the
// Rust side states.
//
// Strings come back to Rust as UTF-8 bytes: TextEncoder is native, while wasm-bindgen's own
// string passing copies an ASCII string into wasm memory one character at a time in JavaScript
// (15 % of a proxied request's samples, most of it the 2 KB Cookie header, before this).
const encoder = new TextEncoder();

// A header list as one string: "name:value" lines, each ended by "\n" (see net.rs).
export function headerList(headers) {
  let list = "";
  for (const [name, value] of headers) list += name + ":" + value + "\n";
  return list;
}

export function toHeaders(list) {
  const headers = new Headers();
  appendList(headers, list);
  return headers;
}

export function appendList(headers, list) {
  let start = 0;
  while (start < list.length) {
    let end = list.indexOf("\n", start);
    if (end < 0) end = list.length;
    const colon = list.indexOf(":", start);
    if (colon > start && colon < end) headers.append(list.slice(start, colon), list.slice(colon + 1, end));
    start = end + 1;
  }
}

// What Cloudflare says of the TLS client certificate (request.cf.tlsClientAuth):
// "certPresented\ncertVerified\ncertFingerprintSHA256", or "" when the request has none.
export function edgewardTlsClientAuth(request) {
  const auth = request.cf?.tlsClientAuth;
  if (!auth || typeof auth !== "object") return "";
  const field = (name) => String(auth[name] ?? "").replace(/\n/g, " ");
  return field("certPresented") + "\n" + field("certVerified") + "\n" + field("certFingerprintSHA256");
}

// The request's method, URL and headers: "METHOD\nURL\n" then its header list.
export function edgewardRequestHead(request) {
  return encoder.encode(request.method + "\n" + request.url + "\n" + headerList(request.headers));
}

// The core's answer: its status, its header list, its body (a view into wasm memory, copied now;
// none when empty: an empty Uint8Array cost a 204 milliseconds in workerd's Response constructor).
export function edgewardCoreResponse(status, headers, body) {
  return new Response(body.length > 0 ? body.slice() : null, { status, headers: toHeaders(headers) });
}

// A proxied request, sent and answered here: the upstream is awaited in JavaScript, not by a
// Rust future. Redirects are not followed; `body` is the browser's stream (or undefined).
// `hooks` is the isolate's one ProxyHooks (net.rs); `token` the request's (for the trap guard);
// `route` the route's index and `rules` its AnswerRules in text (one string per route and
// isolate); `extra` the header list the core adds to this answer (CORS).
export function edgewardProxy(hooks, token, route, rules, extra, method, url, headers, body) {
  let sent;
  try {
    sent = fetch(url, { method, headers: toHeaders(headers), body, redirect: "manual" });
  } catch (error) {
    sent = Promise.reject(error);
  }
  return sent.then(
    (upstream) => {
      const fast = answerHeaders(hooks, token, rulesOf(rules), upstream.headers, extra);
      const kept = fast ?? toHeaders(hooks.answer(token, route, url, extra, encoder.encode(headerList(upstream.headers))));
      return new Response(upstream.body, { status: upstream.status, headers: kept });
    },
    (error) => hooks.failed(token, extra, error),
  );
}

// A route's answer rules (the core's AnswerRules, see rules_of in net.rs): passed names, judged
// names, what a script Content-Type is passed as, then the added headers' list. Parsed once per
// text.
const answerRules = new Map();
export function rulesOf(text) {
  let rules = answerRules.get(text);
  if (rules === undefined) {
    const [passed, judged, scriptAs, added] = text.split("\n\n");
    // The added headers as [name, value] pairs, split once here rather than on every answer.
    const pairs = [];
    appendList({ append: (name, value) => pairs.push([name, value]) }, added);
    rules = { passed: new Set(passed.split(",")), judged: new Set(judged.split(",")), scriptAs, added: pairs };
    answerRules.set(text, rules);
  }
  return rules;
}

// What the browser gets for an upstream Content-Type, as the core decided it (asked once per
// value and isolate; at most 64 values kept).
const contentTypes = new Map();
const VISIBLE = /^[\t\x20-\x7e]*$/;

// The answer's headers by the route's rules, exactly as AnswerRules::apply makes them (a core test
// holds that to forward_response_headers), without entering wasm; null when the answer needs
// the core: a judged header (Location, WWW-Authenticate) or a value outside visible ASCII. The
// names the upstream's Connection header lists are dropped.
export function answerHeaders(hooks, token, rules, upstream, extra) {
  const connection = upstream.get("connection");
  const listed = connection === null ? null : new Set(connection.split(",").map((name) => name.trim().toLowerCase()));
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (rules.judged.has(name) || !VISIBLE.test(value)) return null;
    if (!rules.passed.has(name) || listed?.has(name)) continue;
    if (name === "content-type") {
      let sent = contentTypes.get(value);
      if (sent === undefined) {
        sent = hooks.contentType(token, value);
        // Only one of the core's two answers is kept: anything else (a call into an instance
        // that can no longer answer) leaves the answer to the core.
        if (sent !== value && sent !== rules.scriptAs) return null;
        if (contentTypes.size >= 64) contentTypes.clear();
        contentTypes.set(value, sent);
      }
      out.append(name, sent);
    } else {
      out.append(name, value);
    }
  }
  for (const [name, value] of rules.added) out.append(name, value);
  if (extra.length > 0) appendList(out, extra);
  return out;
}

// An answer's body, read in full but never past `maxBytes` (a declared length over it is refused
// unread; a body that grows past it is cancelled). A body framed by its Content-Length, sent as
// it is (no Content-Encoding, which the runtime decodes as it reads, so the decoded body may be
// longer than declared; no Transfer-Encoding), is read in one arrayBuffer() call: the runtime
// stops at the declared length. Any other is read chunk by chunk and given up past the bound.
export async function readCapped(response, maxBytes) {
  const over = () => new Error(`answer over ${maxBytes} bytes`);
  const declared = response.headers.get("content-length");
  if (Number(declared) > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw over();
  }
  if (!response.body) return new Uint8Array(0);
  if (declared !== null && /^[0-9]+$/.test(declared) && !response.headers.has("content-encoding") && !response.headers.has("transfer-encoding")) {
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.byteLength > maxBytes) throw over();
    return body;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => {});
      throw over();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

// An outgoing request of the agent, read in full (at most `maxBytes` of body). Resolves to
// {status, headers, body}; rejects when the runtime's fetch does, when the answer is larger, and
// after `timeoutMs` without the whole answer. `body` is a view into wasm memory, which may grow
// before the request is sent: it is copied now.
export function edgewardExchange(method, url, headers, body, timeoutMs, maxBytes) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const init = { method, headers: toHeaders(headers), redirect: "manual", signal: controller.signal };
  if (body.length > 0) init.body = body.slice();
  return fetch(url, init)
    .then(async (response) => ({
      status: response.status,
      headers: encoder.encode(headerList(response.headers)),
      body: await readCapped(response, maxBytes),
    }))
    .catch((error) => {
      throw timedOut ? new Error(`no answer within ${timeoutMs / 1000} s`) : error;
    })
    .finally(() => clearTimeout(timer));
}

// POSTs `body` (a string) to the Durable Object named `name` in `namespace` (the URL is a
// placeholder: an object is reachable only through its binding). Resolves as edgewardExchange.
export function edgewardObjectPost(namespace, name, body) {
  const stub = namespace.get(namespace.idFromName(name));
  return stub.fetch("https://edgeward.internal/", { method: "POST", body }).then(async (response) => ({
    status: response.status,
    headers: new Uint8Array(0),
    body: new Uint8Array(await response.arrayBuffer()),
  }));
}
