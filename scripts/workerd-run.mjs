// Serves the built worker from ONE workerd process, configured from wrangler.toml
// (scripts/workerd-config.mjs): the production-like runtime, by hand.
//
//   node scripts/workerd-run.mjs [--port 8787] [--bundle build/worker] [--assets]
//                                [--persist DIR] [--config wrangler.toml] [--var NAME:VALUE]...
//
// --bundle: build/worker/ (scripts/build-worker.sh; the default) or a `wrangler deploy --dry-run
// --outdir` directory. --assets: the SPA from wrangler.toml's [assets] directory in front of the
// worker (its router). --persist: Durable Object storage (default: a new temporary directory).
// Vars: wrangler.toml's [vars], then .dev.vars (as wrangler dev reads it), then each --var.
// Nothing is built; Ctrl-C stops workerd.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readWranglerConfig, workerdBinary, writeWorkerdConfig } from "./workerd-config.mjs";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    bundle: { type: "string", default: "build/worker" },
    assets: { type: "boolean", default: false },
    persist: { type: "string" },
    config: { type: "string", default: "wrangler.toml" },
    var: { type: "string", multiple: true, default: [] },
  },
});

/** KEY=value lines of a .dev.vars file (comments and blank lines skipped, quotes removed). */
function devVars(path) {
  if (!existsSync(path)) return {};
  const vars = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

const config = await readWranglerConfig(values.config);
const vars = devVars(resolve(values.config, "..", ".dev.vars"));
for (const v of values.var) {
  const at = v.indexOf(":");
  if (at < 1) throw new Error(`--var ${v}: NAME:VALUE`);
  vars[v.slice(0, at)] = v.slice(at + 1);
}
const persist = values.persist ?? mkdtempSync(join(tmpdir(), "edgeward-workerd-"));
const file = writeWorkerdConfig({
  config,
  bundle: resolve(values.bundle),
  dir: join(persist, "workerd"),
  port: Number(values.port),
  vars,
  storage: join(persist, "do"),
  assets: values.assets,
});
console.error(`workerd on http://localhost:${values.port} (${values.bundle}${values.assets ? ", with the SPA" : ""}; storage in ${persist})`);
const workerd = spawn(workerdBinary(), ["serve", file], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => workerd.kill(signal));
process.on("exit", () => workerd.kill("SIGTERM"));
workerd.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
