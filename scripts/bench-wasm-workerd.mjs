// The wasm benchmark's cookie rows (edge/bench, built by scripts/bench-wasm.sh) in workerd, the
// runtime production runs, instead of Node: one workerd process serves a module that calls the
// same exports; workerd's clock stands still while code runs, so each export is timed from here,
// outside: (time of a call doing n iterations − time of a call doing none) / n. Node runs
// WebCrypto's AES and HMAC on its thread pool; workerd runs them in line (BoringSSL), so the
// WebCrypto rows differ most. Numbers, not a test. Uses TEST_WORKER_PORT (8790).
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, WORKER_PORT, waitFor } from "../tests/support/stack.mjs";
import { workerdBinary } from "./workerd-config.mjs";
import { cpuByPart } from "./bench-cpu.mjs";

const dir = join(ROOT, "target/bench/workerd-wasm");
mkdirSync(dir, { recursive: true });
for (const file of ["edgeward_bench.js", "edgeward_bench_bg.wasm"]) copyFileSync(join(ROOT, "target/bench-wasm", file), join(dir, file));
// wasm-bindgen's inline JavaScript (snippets/<crate>-<hash>/inlineN.js), imported by the glue.
const snippets = [];
const snippetRoot = join(ROOT, "target/bench-wasm/snippets");
if (existsSync(snippetRoot)) {
  for (const crate of readdirSync(snippetRoot)) {
    for (const file of readdirSync(join(snippetRoot, crate))) {
      mkdirSync(join(dir, "snippets", crate), { recursive: true });
      copyFileSync(join(snippetRoot, crate, file), join(dir, "snippets", crate, file));
      snippets.push(`snippets/${crate}/${file}`);
    }
  }
}
writeFileSync(
  join(dir, "main.mjs"),
  `import * as bench from "./edgeward_bench.js";
import module from "./edgeward_bench_bg.wasm";
bench.initSync({ module });
export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    const n = Number(q.get("n"));
    const webcrypto = q.get("webcrypto") === "1";
    const size = Number(q.get("size") ?? 1024);
    switch (q.get("step")) {
      case "seal": await bench.seal(size, n, webcrypto); break;
      case "open": await bench.open(size, n, webcrypto); break;
      case "decrypt": await bench.aes_gcm_decrypt(1024, n, webcrypto); break;
      case "derive": await bench.derive(n, webcrypto); break;
      case "hop": await bench.promise_hop(n); break;
      case "mint": await bench.mint(Math.floor(Date.now() / 1000), n, q.get("alg"), webcrypto); break;
      default: return new Response("no such step", { status: 404 });
    }
    return new Response("ok");
  },
};
`,
);
writeFileSync(
  join(dir, "config.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "bench", worker = .bench) ],
  sockets = [ (name = "http", address = "127.0.0.1:${WORKER_PORT}", http = (), service = "bench") ],
);
const bench :Workerd.Worker = (
  modules = [
    (name = "main.mjs", esModule = embed "main.mjs"),
    (name = "edgeward_bench.js", esModule = embed "edgeward_bench.js"),
    (name = "edgeward_bench_bg.wasm", wasm = embed "edgeward_bench_bg.wasm"),
${snippets.map((f) => `    (name = "${f}", esModule = embed "${f}"),\n`).join("")}  ],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = ["nodejs_compat"],
);
`,
);

const workerd = spawn(workerdBinary(), ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "inherit", "inherit"] });
const base = `http://127.0.0.1:${WORKER_PORT}/`;
try {
  await waitFor(`${base}?step=hop&n=0`, 15_000, "workerd");
  const call = async (query) => {
    const res = await fetch(`${base}?${query}`);
    if (res.status !== 200) throw new Error(`${query}: ${res.status} ${await res.text()}`);
    await res.text();
  };
  const CALLS = Number(process.env.BENCH_WORKERD_CALLS || 20);
  const ROUNDS = Number(process.env.BENCH_WORKERD_ROUNDS || 3);
  // Wall time per call, and workerd's CPU time per call (from /proc: less moved by other work on
  // a busy machine than the wall time).
  const time = async (query) => {
    for (let i = 0; i < 3; i++) await call(query);
    const before = cpuByPart({ workerd: workerd.pid }).workerd ?? 0;
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) await call(query);
    const after = cpuByPart({ workerd: workerd.pid }).workerd ?? 0;
    return { wall: (performance.now() - start) / CALLS, cpu: ((after - before) * 1000) / CALLS };
  };
  const steps = [];
  for (const webcrypto of [false, true]) {
    const how = webcrypto ? "WebCrypto (the worker's path)" : "Rust";
    steps.push([`cookie seal, 1 KiB, ${how}`, "seal&size=1024", 300, webcrypto]);
    steps.push([`cookie open, 1 KiB, ${how}`, "open&size=1024", 300, webcrypto]);
    for (const size of (process.env.BENCH_OPEN_SIZES || "256").split(",").map(Number)) {
      steps.push([`cookie open, ${size} B, ${how}`, `open&size=${size}`, 300, webcrypto]);
    }
  }
  for (const webcrypto of [false, true]) {
    steps.push([`AES-256-GCM decrypt alone, 1 KiB, ${webcrypto ? "WebCrypto, key imported per call" : "Rust"}`, "decrypt", 300, webcrypto]);
  }
  for (const webcrypto of [false, true]) {
    steps.push([`cookie key + nonce derivation, ${webcrypto ? "WebCrypto HMAC ×2, key imported once" : "Rust HKDF"}`, "derive", 300, webcrypto]);
  }
  steps.push(["awaiting a resolved promise from Rust (JsFuture)", "hop", 2000, false]);
  for (const alg of ["ES256", "RS256"]) {
    steps.push([`mint ${alg} by WebCrypto (the worker's path)`, `mint&alg=${alg}`, alg === "ES256" ? 300 : 100, true]);
    steps.push([`mint ${alg} in Rust (the fallback)`, `mint&alg=${alg}`, alg === "ES256" ? 100 : 10, false]);
  }
  // Rounds over every step in turn, so a busy spell of the machine does not land on one step;
  // the median round is reported.
  const samples = new Map(steps.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, step, n, webcrypto] of steps) {
      const w = webcrypto ? 1 : 0;
      const empty = await time(`step=${step}&n=0&webcrypto=${w}`);
      const full = await time(`step=${step}&n=${n}&webcrypto=${w}`);
      samples.get(name).push({ wall: ((full.wall - empty.wall) * 1000) / n, cpu: ((full.cpu - empty.cpu) * 1000) / n });
    }
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = steps.map(([name]) => [name, median(samples.get(name).map((s) => s.wall)), median(samples.get(name).map((s) => s.cpu))]);
  mkdirSync(join(ROOT, "target/bench"), { recursive: true });
  writeFileSync(join(ROOT, "target/bench/wasm-workerd.json"), JSON.stringify({ rounds: ROUNDS, steps: rows.map(([name, wall, cpu]) => ({ name, wallMicroseconds: wall, workerdCpuMicroseconds: cpu })) }, null, 2));
  console.log(`| step (wasm in one workerd, timed from outside; median of ${ROUNDS} rounds) | wall | workerd CPU |`);
  console.log("| --- | ---: | ---: |");
  for (const [name, wall, cpu] of rows) console.log(`| ${name} | ${wall.toFixed(1)} µs | ${cpu.toFixed(1)} µs |`);
} finally {
  workerd.kill("SIGTERM");
}
