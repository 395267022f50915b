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
  if (!existsSync(join(dir, "entry.js"))) throw new Error(`no bundle at ${dir}`);
  const copy = join(ROOT, "target/bench", name);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  for (const f of readdirSync(dir)) cpSync(join(dir, f), join(copy, f));
  const entry = readFileSync(join(copy, "entry.js"), "utf8");
  const hook = /async fetch\(request\) \{\n/;
  if (!hook.test(entry)) throw new Error(`${dir}/entry.js: the worker's fetch was not found`);
  writeFileSync(join(copy, "entry.js"), entry.replace(hook, (m) => m + lines.map((l) => `    ${l}\n`).join("")));
  return copy;
}
