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

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const total = profile.samples.length;

// What each sample is doing: from its top frame down the stack, the first frame whose name
// says (so `Split::next` called by the cookie reader counts as cookie parsing). First match of
// a frame wins; a sample no frame names is "other".
const groups = [
  ["AES-GCM (AES, GHASH, CTR)", /aes::|ghash|polyval|fixslice|aes_gcm|Aes256|ctr::|cipher::/],
  ["HKDF / HMAC / SHA-256", /sha2::|sha256|hkdf|hmac|compress256|digest::/],
  ["base64", /base64/],
  ["serde_json / serde", /serde/],
  ["allocation / memcpy / memcmp", /dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|alloc::raw_vec|memcpy|memmove|memset|memcmp|copy_from_slice/],
  ["cookie header reading", /platform::cookies::(read|present|values)|cookies::pairs/],
  ["Set-Cookie writing (cookie crate)", /cookie::|platform::cookies::/],
  ["formatting (fmt)", /core::fmt|fmt::Write|Formatter|::fmt::/],
  ["http types (HeaderMap, Request, Uri)", /\bhttp::/],
  ["url", /url::|form_urlencoded|idna|percent_encoding/],
  ["async machinery / wasm-bindgen / JS glue", /Future|poll|wasm_bindgen|js_sys|futures|Promise|__wbg|__wbindgen|executor|^(?!.*::).*$/],
];
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const groupOf = new Map();
function classify(id) {
  if (groupOf.has(id)) return groupOf.get(id);
  let group = "other";
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const name = byId.get(at).callFrame.functionName;
    if (!name || name === "(root)") continue;
    const hit = groups.find(([, re]) => re.test(name));
    if (hit) {
      group = hit[0];
      break;
    }
  }
  groupOf.set(id, group);
  return group;
}
// Only what Edge::handle does: the bench's own request building and bookkeeping are left out.
const inHandle = new Map();
function underHandle(id) {
  if (inHandle.has(id)) return inHandle.get(id);
  const name = byId.get(id).callFrame.functionName;
  const up = parent.get(id);
  const yes = /edgeward_core::edge::Edge<P>::handle|drop_in_place<edgeward_core::edge::Outcome>/.test(name) || (up !== undefined && underHandle(up));
  inHandle.set(id, yes);
  return yes;
}
const grouped = new Map();
const self = new Map();
let busy = 0;
for (const id of profile.samples) {
  const name = byId.get(id).callFrame.functionName;
  if (!underHandle(id)) continue;
  busy += 1;
  self.set(name, (self.get(name) ?? 0) + 1);
  const group = classify(id);
  grouped.set(group, (grouped.get(group) ?? 0) + 1);
}
const pct = (n) => ((100 * n) / busy).toFixed(1).padStart(5) + " %";
console.log(`${which}: ${calls} calls, ${(us / calls).toFixed(1)} µs per call (timed inside, profiler on); ${total} samples, ${busy} of them inside Edge::handle (the shares below)`);
console.log("\nself time by group (share of busy samples):");
for (const [group, n] of [...grouped].sort((a, b) => b[1] - a[1])) console.log(`${pct(n)}  ${group}`);
console.log("\ntop functions by self time:");
const top = [...self].filter(([name]) => !["(idle)", "(root)"].includes(name)).sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30));
for (const [name, n] of top) console.log(`${pct(n)}  ${name.length > 150 ? name.slice(0, 150) + "…" : name}`);
