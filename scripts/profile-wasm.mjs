// Profiles whole requests through the core's Edge::handle in V8 (the engine workerd runs):
// runs one case of edge/bench in a loop under V8's sampling profiler and prints the functions
// with the most self time, one by one and grouped by what they do. Build first:
// scripts/bench-wasm.sh builds edge/bench (the release profile keeps the wasm name section, so
// the profile names Rust functions).
//
//   node scripts/profile-wasm.mjs [session|proxied|not_found|login_end|refresh] [seconds]
//
// Writes the raw profile to target/bench/profile-<case>.cpuprofile (Chrome DevTools opens it).
import { Session } from "node:inspector/promises";
import { report } from "./profile-report.mjs";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bench = await import(join(root, "target/bench-wasm/edgeward_bench.js"));
bench.initSync({ module: readFileSync(join(root, "target/bench-wasm/edgeward_bench_bg.wasm")) });

const which = process.argv[2] ?? "session";
const seconds = Number(process.argv[3] ?? 5);
const cases = {
  not_found: [bench.edge_not_found, 2000],
  session: [bench.edge_session, 500],
  proxied: [bench.edge_proxied, 500],
  login_end: [bench.edge_login_end, 5],
  refresh: [bench.edge_refresh, 50],
};
const [fn, batch] = cases[which] ?? [];
if (!fn) throw new Error(`no case ${which}: one of ${Object.keys(cases).join(", ")}`);
await fn(batch); // warm-up (and the sign-in)

const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 50 });
await session.post("Profiler.start");
const until = Date.now() + seconds * 1000;
let calls = 0;
let us = 0;
while (Date.now() < until) {
  us += (await fn(batch)) * batch;
  calls += batch;
}
const { profile } = await session.post("Profiler.stop");
mkdirSync(join(root, "target/bench"), { recursive: true });
writeFileSync(join(root, `target/bench/profile-${which}.cpuprofile`), JSON.stringify(profile));

report(profile, {
  title: `${which}: ${calls} calls, ${(us / calls).toFixed(1)} µs per call (timed inside, profiler on)`,
  // Only what Edge::handle does: the bench's own request building and bookkeeping are left out.
  within: (name) => /edgeward_core::edge::Edge<P>::handle|drop_in_place<edgeward_core::edge::Outcome>/.test(name),
});
