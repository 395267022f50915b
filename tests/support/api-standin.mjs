// A stand-in for the worker's /auth/refresh and /api/*, for the SPA's API-client tests in the
// browser (app/tests/client.rs): real fetch, real HTTP, and counters the tests read back.
//
// Every test uses its own scenario, the first path segment: `/<scenario>/auth/refresh`,
// `/<scenario>/api/...`, `/<scenario>/_stats`. The scenario's name sets the behaviour:
//   fresh-*    the API answers 200 at once (the access token is valid)
//   expired-*  the API answers 401 until one refresh succeeded, then 200
//   ended-*    the API answers 401 and the refresh is refused (401 session_expired)
//   broken-*   the API answers 401 even after a successful refresh
// Refreshes take 150 ms, so parallel calls overlap one. The API echoes what it got.
//
// Cross-origin (the test page runs on the runner's port), so CORS is open: no cookies are
// involved here, only the client's logic.
import http from "node:http";

const port = Number(process.env.STANDIN_PORT || 8097);
const scenarios = new Map();
const state = (id) => {
  if (!scenarios.has(id)) scenarios.set(id, { refreshes: 0, calls: 0, refreshed: false, csrf: [] });
  return scenarios.get(id);
};

const cors = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
  "access-control-allow-headers": "*",
  "access-control-expose-headers": "*",
  "access-control-max-age": "600",
};

function send(res, status, body) {
  res.writeHead(status, { ...cors, "content-type": "application/json", "x-standin": "1" });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  if (req.method === "OPTIONS") {
    res.writeHead(204, cors);
    return res.end();
  }
  let body = "";
  for await (const chunk of req) body += chunk;
  const url = new URL(req.url, "http://standin");
  const [, id, ...rest] = url.pathname.split("/");
  const path = `/${rest.join("/")}`;
  const s = state(id);
  if (path === "/_stats") return send(res, 200, s);
  if (path === "/auth/refresh" && req.method === "POST") {
    s.refreshes += 1;
    await new Promise((r) => setTimeout(r, 150));
    if (id.startsWith("ended-")) {
      return send(res, 401, { code: "session_expired", message: "the identity provider refused the refresh" });
    }
    s.refreshed = true;
    res.writeHead(204, cors);
    return res.end();
  }
  if (path.startsWith("/api/")) {
    s.calls += 1;
    s.csrf.push(req.headers["x-edgeward-csrf"] ?? null);
    const authorized = id.startsWith("fresh-") || (id.startsWith("expired-") && s.refreshed);
    if (!authorized) return send(res, 401, { code: "unauthorized", message: "no valid access token" });
    return send(res, 200, {
      method: req.method,
      path,
      query: url.search,
      body,
      csrf: req.headers["x-edgeward-csrf"] ?? null,
      contentType: req.headers["content-type"] ?? null,
    });
  }
  send(res, 404, { code: "route_not_found", message: path });
});

server.listen(port, "127.0.0.1", () => console.log(`api-standin: http://127.0.0.1:${port}`));
