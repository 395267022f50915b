// A copy of a dry-run bundle whose JavaScript entry answers some paths itself before any Rust
// runs: the floors the benchmarks measure the worker against (scripts/bench-adapter.mjs,
// scripts/bench-agent.mjs). The shipped bundle is not touched.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../tests/support/stack.mjs";

/**
 * Copies `dir` to target/bench/<name> and puts `lines` (JavaScript, with `request` in scope, each
 * returning an answer for the paths it owns) at the top of the worker's fetch.
 */
export function withEntryLines(name, dir, lines) {
  const copy = copyOf(name, dir);
  const entry = readFileSync(join(copy, "entry.js"), "utf8");
  const hook = /async fetch\(request\) \{\n/;
  if (!hook.test(entry)) throw new Error(`${dir}/entry.js: the worker's fetch was not found`);
  writeFileSync(join(copy, "entry.js"), entry.replace(hook, (m) => m + lines.map((l) => `    ${l}\n`).join("")));
  return copy;
}

/**
 * Copies `dir` to target/bench/<name> with the proxy's upstream request taken out: the worker
 * does everything of a proxied call (the head, the core's decision, the crossings, the answer's
 * headers by the route's rules) but answers a fixed 200 JSON instead of fetching the API. What
 * this saves is the runtime's outgoing request and streamed answer, which a proxy written in
 * JavaScript alone pays too (scripts/bench-ab.mjs BENCH_WITHOUT_UPSTREAM=1).
 */
export function withoutUpstream(name, dir) {
  const copy = copyOf(name, dir);
  const entry = readFileSync(join(copy, "entry.js"), "utf8");
  const send = /sent = fetch\(url, \{ method, headers: toHeaders\(headers\), body, redirect: "manual" \}\);/;
  if (!send.test(entry)) throw new Error(`${dir}/entry.js: the proxy's upstream fetch was not found`);
  const fixed = `toHeaders(headers); sent = Promise.resolve(new Response('{"sub":"bench"}', { status: 200, headers: { "content-type": "application/json", "content-length": "15" } }));`;
  writeFileSync(join(copy, "entry.js"), entry.replace(send, fixed));
  return copy;
}

/** A fresh copy of the bundle `dir` at target/bench/<name>. */
function copyOf(name, dir) {
  if (!existsSync(join(dir, "entry.js"))) throw new Error(`no bundle at ${dir}`);
  const copy = join(ROOT, "target/bench", name);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  for (const f of readdirSync(dir)) cpSync(join(dir, f), join(copy, f));
  return copy;
}
