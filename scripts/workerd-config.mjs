// The built worker in ONE workerd process, configured from wrangler.toml: the production-like
// runtime of the benchmarks (README "Performance") and of `scripts/workerd-run.mjs`.
//
// `wrangler dev` runs two workerd processes (its dev proxy, then Miniflare's entry worker, the
// assets router and the worker) and a Node process; production runs the worker alone, behind
// Cloudflare's router. This writes a workerd config (Cap'n Proto text) that serves the bundle
// straight from a socket:
// - the bundle: a directory holding the main module (wrangler.toml's `main` by name, `.mjs` or
//   `.js`) and the modules it imports (every `.js`/`.mjs` an ES module, every `.wasm` a compiled
//   module, named by their path in the directory, as imports name them). Both `build/worker/`
//   (scripts/build-worker.sh, unbundled) and `wrangler deploy --dry-run --outdir` (what deploy
//   uploads, bundled by esbuild) load;
// - wrangler.toml's `compatibility_date` and `compatibility_flags`, its `[vars]` with the
//   caller's on top (as `wrangler dev --var`), and its Durable Object bindings with their
//   classes (SQLite-backed as its `[[migrations]]` say) in local storage: a directory, or memory;
// - outgoing requests may reach local and private addresses (the local IdP and API), as under
//   wrangler dev;
// - `[assets]`: with `assets: true`, a small router worker in the same process plays Cloudflare's
//   part (README "Performance"): `run_worker_first` paths go to the worker, other GET/HEAD
//   requests to a file of the assets directory (`/` and directories: their index.html), with
//   the headers `_headers` gives `/*` and the path's own; a path with no file gets index.html
//   (`not_found_handling = "single-page-application"`), and any other method goes to the worker.
//   Without it (the benchmarks' choice) the socket reaches the worker directly, as the
//   `run_worker_first` paths do in production, where the router's CPU is not the worker's.
// - `[[analytics_engine_datasets]]`: workerd's own binding, posting each data point to the
//   HTTP service `metricsSink` (host:port) names; workerd then needs `--experimental`.
// Any other binding in wrangler.toml fails the config (fail closed: a worker run without a
// binding it expects would measure something else).
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { createRequire } from "node:module";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

/** The workerd binary wrangler's Miniflare runs (node_modules/@cloudflare/workerd-<platform>). */
export function workerdBinary() {
  const fromMiniflare = createRequire(require.resolve("miniflare"));
  return fromMiniflare("workerd").default;
}

/**
 * wrangler.toml as wrangler itself reads it (`unstable_readConfig`; the assets directory made
 * absolute). Read in a child process: loaded into the caller, wrangler changed how it ends on
 * a signal (scripts/workerd-run.mjs then left workerd running after SIGTERM), and it costs the
 * caller (a benchmark's load generator) seconds of CPU and its memory.
 */
export async function readWranglerConfig(path = "wrangler.toml") {
  const script = `const { unstable_readConfig } = await import("wrangler");
process.stdout.write(JSON.stringify(unstable_readConfig({ config: process.argv[1] }, { hideWarnings: true })));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script, resolve(path)], {
    cwd: dirname(fileURLToPath(import.meta.url)),
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const config = JSON.parse(stdout);
  if (config.assets?.directory) config.assets.directory = resolve(dirname(resolve(path)), config.assets.directory);
  return config;
}

/** Whether workerd must run with `--experimental` for `config` (its Analytics Engine binding). */
export const needsExperimental = (config) => (config.analytics_engine_datasets ?? []).length > 0;

/** Binding kinds this runtime does not provide; a non-empty one fails the config. */
const UNSUPPORTED = [
  "kv_namespaces", "r2_buckets", "d1_databases", "services", "queues",
  "vectorize", "hyperdrive", "send_email", "workflows",
  "mtls_certificates", "dispatch_namespaces", "secrets_store_secrets", "unsafe_hello_world",
  "pipelines", "logfwdr", "tail_consumers", "worker_loaders", "vpc_services", "ai", "browser",
  "images", "media", "version_metadata", "unsafe",
];
/** Whether a config value holds anything: a non-empty list, or an object with such a value. */
const PRESENT = (value) =>
  Array.isArray(value) ? value.length > 0
  : value && typeof value === "object" ? Object.values(value).some(PRESENT)
  : Boolean(value);

/** The ES and wasm modules of a bundle directory, main module first. */
export function bundleModules(dir, main) {
  const files = readdirSync(dir, { recursive: true }).map(String)
    .filter((f) => !basename(f).startsWith(".") && statSync(join(dir, f)).isFile());
  const stem = basename(main).replace(/\.(m?js|ts)$/, "");
  const mainFile = [`${stem}.mjs`, `${stem}.js`].find((f) => files.includes(f));
  if (!mainFile) throw new Error(`no ${stem}.mjs or ${stem}.js in ${dir} (wrangler.toml's main is ${main})`);
  const modules = [];
  for (const file of [mainFile, ...files.filter((f) => f !== mainFile).sort()]) {
    const ext = extname(file);
    const kind = ext === ".js" || ext === ".mjs" ? "esModule" : ext === ".wasm" ? "wasm" : null;
    if (kind) modules.push({ name: file.split("\\").join("/"), kind, path: resolve(dir, file) });
  }
  return modules;
}

/** Which Durable Object classes are SQLite-backed: the `[[migrations]]`, in order. */
function sqliteClasses(migrations = []) {
  const sql = new Map();
  for (const m of migrations) {
    for (const c of m.new_classes ?? []) sql.set(c, false);
    for (const c of m.new_sqlite_classes ?? []) sql.set(c, true);
    for (const { from, to } of m.renamed_classes ?? []) {
      sql.set(to, sql.get(from) ?? false);
      sql.delete(from);
    }
    for (const c of m.deleted_classes ?? []) sql.delete(c);
  }
  return sql;
}

/** The route patterns of `run_worker_first` as regular expressions (`*` any run, `!` negates). */
const patterns = (globs) =>
  globs.map((g) => {
    const negate = g.startsWith("!");
    const body = (negate ? g.slice(1) : g).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    return { negate, source: `^${body}$` };
  });

/** The rules of an `_headers` file: [{ pattern, headers: [[name, value]] }]. */
function headerRules(dir) {
  let text;
  try {
    text = readFileSync(join(dir, "_headers"), "utf8");
  } catch {
    return [];
  }
  const rules = [];
  for (const line of text.split("\n")) {
    if (!line.trim() || line.trim().startsWith("#")) continue;
    if (!/^\s/.test(line)) rules.push({ pattern: line.trim(), headers: [] });
    else if (rules.length) {
      const at = line.indexOf(":");
      rules.at(-1).headers.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
    }
  }
  return rules;
}

/** The router worker standing in for Cloudflare's assets routing (see the head comment). */
function routerSource(assets) {
  const workerFirst = patterns([].concat(assets.run_worker_first ?? []));
  const rules = headerRules(assets.directory).map((r) => ({ ...patterns([r.pattern])[0], headers: r.headers }));
  const spa = assets.not_found_handling === "single-page-application";
  return `// Generated by scripts/workerd-config.mjs: Cloudflare's assets routing, locally.
const WORKER_FIRST = ${JSON.stringify(workerFirst)}.map((p) => ({ ...p, re: new RegExp(p.source) }));
const RULES = ${JSON.stringify(rules)}.map((r) => ({ ...r, re: new RegExp(r.source) }));
const SPA = ${spa};
const TYPES = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8", wasm: "application/wasm", svg: "image/svg+xml", json: "application/json",
  txt: "text/plain; charset=utf-8", ico: "image/x-icon", png: "image/png", webmanifest: "application/manifest+json" };
const matches = (list, path) => {
  let hit = false;
  for (const p of list) if (p.re.test(path)) hit = !p.negate;
  return hit;
};
async function file(env, request, path) {
  if (path.endsWith("/")) path += "index.html";
  if (path.split("/").some((s) => s.startsWith(".") || s === "_headers")) return null;
  const res = await env.FILES.fetch(new Request(new URL(path, request.url), { method: request.method }));
  if (res.status !== 200 || res.headers.get("content-type") === "application/json" && !path.endsWith(".json")) return null;
  const headers = new Headers(res.headers);
  headers.set("content-type", TYPES[path.split(".").pop()] ?? "application/octet-stream");
  for (const r of RULES) if (r.re.test(path) || r.re.test(new URL(request.url).pathname)) for (const [k, v] of r.headers) headers.set(k, v);
  return new Response(res.body, { status: 200, headers });
}
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (matches(WORKER_FIRST, path) || (request.method !== "GET" && request.method !== "HEAD")) return env.WORKER.fetch(request);
    const found = (await file(env, request, path)) ?? (await file(env, request, path + "/"));
    if (found) return found;
    if (SPA) return (await file(env, request, "/index.html")) ?? env.WORKER.fetch(request);
    return env.WORKER.fetch(request);
  },
};
`;
}

/** The internal module that implements `[[ratelimits]]` bindings. */
const RATELIMIT_MODULE = "edgeward-internal:ratelimit";

/**
 * `[[ratelimits]]` as workerd provides them: Miniflare's own simulator (the same in-memory
 * counter `wrangler dev` runs, windows aligned to the wall clock), copied beside the config as
 * an internal extension module and bound `wrapped` with the binding's namespace, limit and
 * period. Nothing but `simple` limits exists.
 */
function rateLimits(ratelimits = [], dir) {
  if (!ratelimits.length) return [];
  const source = join(dirname(require.resolve("miniflare")), "workers", "ratelimit", "ratelimit.worker.js");
  writeFileSync(join(dir, "ratelimit.worker.js"), readFileSync(source));
  return ratelimits.map((r) => {
    if (!r.simple) throw new Error(`rate limit ${r.name} has no simple = { limit, period }`);
    const inner = [
      `(name = "namespaceId", text = ${str(r.namespace_id ?? r.name)})`,
      `(name = "limit", json = ${str(r.simple.limit)})`,
      `(name = "period", json = ${str(r.simple.period)})`,
    ];
    return `(name = ${str(r.name)}, wrapped = (moduleName = ${str(RATELIMIT_MODULE)}, innerBindings = [${inner.join(", ")}]))`;
  });
}

const str = (s) => JSON.stringify(String(s)); // Cap'n Proto text literals take JSON's escapes
/** A Cap'n Proto list literal, one item a line. */
const list = (items) => (items.length ? `[\n    ${items.join(",\n    ")},\n  ]` : "[]");

/**
 * Writes `<dir>/workerd.capnp` and returns its path. `config` is wrangler.toml as read by
 * `readWranglerConfig`; `bundle` the bundle directory; `vars` override wrangler.toml's; `storage`
 * a directory for Durable Object storage, or null for memory; `assets` puts the router in front.
 */
export function writeWorkerdConfig({ config, bundle, dir, port, vars = {}, storage = null, assets = false, metricsSink = null }) {
  const unsupported = UNSUPPORTED.filter((k) => PRESENT(config[k]));
  if (unsupported.length) throw new Error(`wrangler.toml binds ${unsupported.join(", ")}: scripts/workerd-config.mjs does not provide them`);
  const datasets = config.analytics_engine_datasets ?? [];
  if (datasets.length && !metricsSink) {
    throw new Error(`wrangler.toml binds analytics_engine_datasets: give metricsSink (host:port of an HTTP service that takes the data points)`);
  }
  mkdirSync(dir, { recursive: true });
  if (storage) mkdirSync(storage, { recursive: true });
  const rel = (p) => str(relative(dir, p) || ".");
  const modules = bundleModules(bundle, config.main ?? "entry.mjs");
  const allVars = { ...config.vars, ...vars };
  const sql = sqliteClasses(config.migrations);
  const objects = (config.durable_objects?.bindings ?? []).map((b) => {
    if (b.script_name) throw new Error(`Durable Object ${b.name} lives in another worker (${b.script_name}): not supported`);
    return b;
  });
  const classes = [...new Set(objects.map((b) => b.class_name))];
  const name = config.name ?? "worker";

  // Outgoing fetches (the IdP, the APIs) may reach this machine and its network, as under
  // wrangler dev; workerd's default network allows public addresses only.
  const services = [
    `(name = "worker", worker = .worker)`,
    `(name = "outbound", network = (allow = ["public", "private", "local"], tlsOptions = (trustBrowserCas = true)))`,
  ];
  // `[[analytics_engine_datasets]]`: workerd's native binding (it needs `--experimental`,
  // `needsExperimental`) POSTs each data point as JSON to the service it names: here an HTTP
  // server the caller runs (a test's sink). Production writes to the dataset instead.
  if (datasets.length) services.push(`(name = "metrics-sink", external = (address = ${str(metricsSink)}, http = ()))`);
  if (storage) services.push(`(name = "do-storage", disk = (path = ${str(resolve(storage))}, writable = true))`);
  let entry = "worker";
  if (assets) {
    if (!config.assets?.directory) throw new Error("wrangler.toml has no [assets] directory");
    services.push(`(name = "router", worker = .router)`, `(name = "files", disk = (path = ${str(config.assets.directory)}))`);
    writeFileSync(join(dir, "router.js"), routerSource(config.assets));
    entry = "router";
  }
  const bindings = [
    ...Object.entries(allVars).map(([k, v]) =>
      typeof v === "string" ? `(name = ${str(k)}, text = ${str(v)})` : `(name = ${str(k)}, json = ${str(JSON.stringify(v))})`),
    ...objects.map((b) => `(name = ${str(b.name)}, durableObjectNamespace = ${str(b.class_name)})`),
    ...rateLimits(config.ratelimits, dir),
    ...datasets.map((d) => `(name = ${str(d.binding)}, analyticsEngine = "metrics-sink")`),
  ];
  const text = `# Generated by scripts/workerd-config.mjs from wrangler.toml; do not edit.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = ${list(services)},
  sockets = [ (name = "http", address = ${str(`localhost:${port}`)}, http = (), service = ${str(entry)}) ],${
    config.ratelimits?.length ? `
  extensions = [ (modules = [ (name = ${str(RATELIMIT_MODULE)}, esModule = embed "ratelimit.worker.js", internal = true) ]) ],` : ""}
);

const worker :Workerd.Worker = (
  compatibilityDate = ${str(config.compatibility_date)},
  compatibilityFlags = [${(config.compatibility_flags ?? []).map(str).join(", ")}],
  modules = ${list(modules.map((m) => `(name = ${str(m.name)}, ${m.kind} = embed ${rel(m.path)})`))},
  bindings = ${list(bindings)},
  durableObjectNamespaces = ${list(classes.map((c) => `(className = ${str(c)}, uniqueKey = ${str(`${name}-${c}`)}, enableSql = ${sql.get(c) ?? false})`))},
  durableObjectStorage = ${storage ? `(localDisk = "do-storage")` : "(inMemory = void)"},
  globalOutbound = "outbound",
);
${assets ? `
const router :Workerd.Worker = (
  compatibilityDate = ${str(config.compatibility_date)},
  modules = [ (name = "router.js", esModule = embed "router.js") ],
  bindings = [ (name = "WORKER", service = "worker"), (name = "FILES", service = "files") ],
);
` : ""}`;
  const path = join(dir, "workerd.capnp");
  writeFileSync(path, text);
  return path;
}
