#!/usr/bin/env bash
# scripts/bench.sh — the performance report: bundle and SPA sizes, worker startup
# (`wrangler check startup`), the core's per-step CPU cost in wasm (V8), then in each runtime
# (`wrangler dev`, and the dry-run bundle in one workerd process: scripts/bench-runtime.mjs) the
# proxy and read benchmark and the login-callback and refresh benchmark. Prints the tables with
# the targets and writes target/bench/report.json. Numbers, not a test.
#
# Ports: the test ports, TEST_WORKER_PORT (8790), TEST_IDP_PORT (9090), TEST_API_PORT (8095);
# set them to run beside a test run. BENCH_RUNTIMES="wrangler workerd" (the default) picks the
# runtimes; BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_SEQ_N, BENCH_AGENT_N, BENCH_AGENT_WARMUP,
# BENCH_REFRESHES the sizes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"
mkdir -p target/bench

step "build (release)"
bash scripts/build.sh
cargo build -q --release -p edgeward-example-api
step "sizes (wrangler deploy --dry-run)"
rm -rf target/bench/dry-run
npx wrangler deploy --dry-run --outdir target/bench/dry-run >/dev/null
step "startup (wrangler check startup, 5 runs)"
rm -f target/bench/startup*.cpuprofile
for run in 1 2 3 4 5; do
  npx wrangler check startup --outfile "target/bench/startup-$run.cpuprofile" >/dev/null
done
step "per-step cost in wasm"
bash scripts/bench-wasm.sh
rm -f target/bench/proxy-*.json target/bench/agent-*.json
for runtime in ${BENCH_RUNTIMES:-wrangler workerd}; do
  step "proxy and reads ($runtime)"
  BENCH_RUNTIME="$runtime" BENCH_WORKERD_BUNDLE="$EDGEWARD_ROOT/target/bench/dry-run" node scripts/bench-proxy.mjs
  step "login callback and refresh ($runtime)"
  BENCH_RUNTIME="$runtime" BENCH_WORKERD_BUNDLE="$EDGEWARD_ROOT/target/bench/dry-run" node scripts/bench-agent.mjs
done
step_done
node scripts/bench-report.mjs
