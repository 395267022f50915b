// Two workerd profiles of scripts/profile-workerd.mjs side by side, per call: for every function
// (by name), the microseconds of sampled CPU per call spent in it and in what it called, in each
// profile, and the difference. So "a session read costs 22 µs more than the core's 404" becomes
// "of which the Cookie header's parsing is 8 µs, the session's JSON 7 µs, …".
//
//   node scripts/profile-compare.mjs session core-404 [rows]
//
// Reads target/bench/profile-workerd-<case>.cpuprofile (a case name) or any path ending in
// .cpuprofile written by profile-workerd.mjs, which records its calls in the file. The numbers
// are with the profiler on (it slows JavaScript more than wasm): read them against each other,
// not as the CPU a call costs without it (scripts/bench.sh measures that).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Sampled time per call (µs) by function name: inclusive, each name once per stack. */
export function perCall(profile, calls) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const shown = functionName || `(anonymous)@${url.split("/").pop()}:${lineNumber}`;
    // Rust symbols end in a hash that differs between builds.
    return shown.replace(/::h[0-9a-f]{16}$/, "");
  };
  // A sample's time is the delta that follows it (`timeDeltas[i]` is sample i's time less
  // sample i-1's; the last sample has none). V8 now and then records samples out of order: a
  // negative delta counts as none.
  const time = new Map();
  profile.samples.forEach((id, i) => {
    const after = i + 1 < profile.samples.length ? profile.timeDeltas[i + 1] : 0;
    time.set(id, (time.get(id) ?? 0) + Math.max(0, after));
  });
  // Busy is everything but idle and V8's "(program)" (time outside any JavaScript or wasm it
  // can name); the garbage collector counts, as the calls make its work.
  const totals = new Map([["(busy)", 0]]);
  for (const [id, us] of time) {
    const top = name(byId.get(id));
    if (top === "(idle)" || top === "(program)") continue;
    totals.set("(busy)", totals.get("(busy)") + us);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const n = name(byId.get(at));
      if (n === "(root)" || seen.has(n)) continue;
      seen.add(n);
      totals.set(n, (totals.get(n) ?? 0) + us);
    }
  }
  return new Map([...totals].map(([n, us]) => [n, us / calls]));
}

function load(what) {
  const path = what.endsWith(".cpuprofile") ? what : join(ROOT, "target/bench", `profile-workerd-${what}.cpuprofile`);
  const profile = JSON.parse(readFileSync(path, "utf8"));
  const calls = profile.edgeward?.calls;
  if (!(calls > 0)) throw new Error(`${path}: no call count (write it again with scripts/profile-workerd.mjs)`);
  return { path, calls, times: perCall(profile, calls) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [a, b, rows = "40"] = process.argv.slice(2);
  if (!a || !b) {
    console.error("usage: node scripts/profile-compare.mjs <case or .cpuprofile> <case or .cpuprofile> [rows]");
    process.exit(2);
  }
  const [left, right] = [load(a), load(b)];
  const names = new Set([...left.times.keys(), ...right.times.keys()]);
  const table = [...names]
    .map((n) => [n, left.times.get(n) ?? 0, right.times.get(n) ?? 0])
    .map(([n, x, y]) => ({ n, x, y, d: x - y }))
    .sort((p, q) => Math.abs(q.d) - Math.abs(p.d) || p.n.localeCompare(q.n))
    .slice(0, Number(rows));
  const us = (v) => v.toFixed(1).padStart(8);
  console.log(`µs of sampled CPU per call, inclusive: ${a} (${left.calls} calls) · ${b} (${right.calls} calls) · difference`);
  for (const { n, x, y, d } of table) console.log(`${us(x)}${us(y)}${us(d)}  ${n.slice(0, 110)}`);
}
