// The cookie cipher in workerd, Rust against WebCrypto (numbers, not a test): one workerd
// process serving the release test build with the `test-cipher` feature
// (build/worker-test-cipher/, see edge/worker/src/test_cipher.rs), which can seal and open with
// either side, and turn WebCrypto off for a request (`x-edgeward-test-cipher: rust`).
//
// - per open: POST /auth/_test/cipher/open?n=N with a 1 KiB value, one call after another,
//   against n=0 (the request's own cost): (time(n=N) − time(n=0)) / N, for each side. workerd's
//   clock stands still while code runs, so the time is taken here, outside;
// - the session read (GET /auth/session, the cookies of a real login): one request after
//   another and BENCH_CONCURRENCY connections for BENCH_SECONDS, each side in turn, with the CPU
//   workerd spent per request (scripts/bench-cpu.mjs).
// Both in BENCH_CIPHER_ROUNDS (3) rounds, the two sides in turn; the medians are printed last.
//
// Build first: EDGEWARD_WORKER_FEATURES=test-cipher bash scripts/build-worker.sh (release).
// Uses the test ports (TEST_WORKER_PORT, TEST_IDP_PORT). Writes target/bench/cipher.json.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { startIdp, startWorker, ORIGIN, ROOT } from "../tests/support/stack.mjs";
import { signIn } from "../tests/support/session.mjs";
import { cpuByPart, describe, treePrograms } from "./bench-cpu.mjs";
import { client, concurrent, parts, sequential } from "./bench-runtime.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY || 10);
const SEQ_N = Number(process.env.BENCH_SEQ_N || 1000);
const OPENS = Number(process.env.BENCH_CIPHER_OPENS || 500);
const CALLS = Number(process.env.BENCH_CIPHER_CALLS || 40);
const ROUNDS = Number(process.env.BENCH_CIPHER_ROUNDS || 3);
// Which side goes first in each round (BENCH_CIPHER_ORDER=webcrypto,rust to swap them).
const ORDER = (process.env.BENCH_CIPHER_ORDER || "rust,webcrypto").split(",");
const bundle = join(ROOT, "build/worker-test-cipher");
if (!existsSync(join(bundle, "entry.mjs"))) throw new Error(`no test build at ${bundle}: EDGEWARD_WORKER_FEATURES=test-cipher bash scripts/build-worker.sh`);

const idp = await startIdp();
const worker = await startWorker({ runtime: "workerd", bundle });
worker.programs = treePrograms(worker.child.pid);
const cpu = () => parts({ runtime: worker });
const http = client(CONNECTIONS);
const result = { machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`, node: process.version, perOpen: {}, rows: {} };
try {
  const post = async (path, body) => {
    const res = await fetch(`${ORIGIN}${path}`, { method: "POST", body });
    if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    return res.text();
  };
  const sealed = await post("/auth/_test/cipher/seal?with=rust", "x".repeat(1024));
  // Milliseconds per call, and CPU ms per call of workerd, of `CALLS` calls opening `n` times.
  const timed = async (side, n) => {
    const open = () => post(`/auth/_test/cipher/open?with=${side}&n=${n}`, sealed);
    for (let i = 0; i < 5; i++) await open();
    const before = cpuByPart(cpu());
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const answer = JSON.parse(await open());
      if (n > 0 && answer.opened?.length !== 1024) throw new Error(`did not open: ${JSON.stringify(answer)}`);
    }
    const ms = (performance.now() - start) / CALLS;
    const after = cpuByPart(cpu());
    return { ms, cpuMs: ((after.runtime ?? 0) - (before.runtime ?? 0)) * 1000 / CALLS };
  };
  console.error(`cookie cipher in one workerd (release test build): ${OPENS} opens of 1 KiB per call, ${CALLS} calls`);
  for (const side of Array.from({ length: ROUNDS }, () => ["rust", "webcrypto"]).flat()) {
    const empty = await timed(side, 0);
    const full = await timed(side, OPENS);
    const us = ((full.ms - empty.ms) * 1000) / OPENS;
    const cpuUs = ((full.cpuMs - empty.cpuMs) * 1000) / OPENS;
    (result.perOpen[side] ??= []).push({ wallMicroseconds: us, cpuMicroseconds: cpuUs });
    console.error(`  open, 1 KiB, ${side}: ${us.toFixed(1)} µs (workerd CPU ${cpuUs.toFixed(1)} µs)`);
  }

  const { jar } = await signIn();
  const cookie = jar.header(ORIGIN);
  result.cookies = Object.fromEntries(cookie.split("; ").map((c) => c.split("=")).map(([name, value]) => [name, value.length]));
  console.error(`  the session's cookies (characters): ${JSON.stringify(result.cookies)}`);
  // Rounds of both sides in turn, so a busy spell of the machine does not land on one side.
  for (let round = 1; round <= ROUNDS; round++) {
    for (const side of ORDER) {
      const headers = side === "rust" ? { cookie, "x-edgeward-test-cipher": "rust" } : { cookie };
      const label = `GET /auth/session, cipher ${side === "rust" ? "in Rust" : "by WebCrypto"}, round ${round}`;
      result.rows[`${side}Seq${round}`] = await sequential(label, cpu(), SEQ_N, async () => (await http.get(`${ORIGIN}/auth/session`, headers)) === 200, 100);
      result.rows[`${side}${round}`] = await concurrent(label, cpu(), http, `${ORIGIN}/auth/session`, headers, { seconds: SECONDS, connections: CONNECTIONS });
    }
  }
} finally {
  http.close();
  await worker.stop();
  await idp.stop();
}

mkdirSync(join(ROOT, "target", "bench"), { recursive: true });
writeFileSync(join(ROOT, "target", "bench", "cipher.json"), JSON.stringify(result, null, 2));
console.log(`\none workerd (${worker.programs}), release test build, on ${result.machine}:\n`);
console.log("| open, 1 KiB | wall µs per open | workerd CPU µs per open |");
console.log("| --- | ---: | ---: |");
for (const [side, runs] of Object.entries(result.perOpen)) {
  for (const r of runs) console.log(`| ${side} | ${r.wallMicroseconds.toFixed(1)} | ${r.cpuMicroseconds.toFixed(1)} |`);
}
console.log(`\n| case | mode | req/s | p50 ms | p99 ms | errors | CPU ms per request |`);
console.log(`| --- | --- | ---: | ---: | ---: | ---: | --- |`);
for (const r of Object.values(result.rows)) {
  console.log(`| ${r.name} | ${r.mode} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${describe(r.cpuMsPerRequest)} |`);
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`\nmedians of ${ROUNDS} rounds:\n`);
console.log("| measure | cipher in Rust | cipher by WebCrypto |");
console.log("| --- | ---: | ---: |");
const perOpen = (side, key) => median(result.perOpen[side].map((r) => r[key])).toFixed(1);
console.log(`| open, 1 KiB: workerd CPU µs | ${perOpen("rust", "cpuMicroseconds")} | ${perOpen("webcrypto", "cpuMicroseconds")} |`);
console.log(`| open, 1 KiB: wall µs | ${perOpen("rust", "wallMicroseconds")} | ${perOpen("webcrypto", "wallMicroseconds")} |`);
const rowsOf = (side, seq) => Object.entries(result.rows).filter(([k]) => k.startsWith(side) && k.includes("Seq") === seq).map(([, r]) => r);
for (const [seq, what] of [[true, "one after another"], [false, `${CONNECTIONS} connections`]]) {
  const cpuMs = (side) => median(rowsOf(side, seq).map((r) => r.cpuMsPerRequest.runtime ?? 0)).toFixed(3);
  const rps = (side) => median(rowsOf(side, seq).map((r) => r.rps)).toFixed(0);
  const p50 = (side) => median(rowsOf(side, seq).map((r) => r.p50)).toFixed(2);
  console.log(`| session read, ${what}: workerd CPU ms per request | ${cpuMs("rust")} | ${cpuMs("webcrypto")} |`);
  console.log(`| session read, ${what}: req/s | ${rps("rust")} | ${rps("webcrypto")} |`);
  console.log(`| session read, ${what}: p50 ms | ${p50("rust")} | ${p50("webcrypto")} |`);
}
