#!/usr/bin/env bash
# scripts/bench.sh — the performance report: bundle and SPA sizes, worker startup
# (`wrangler check startup`), the core's per-step CPU cost in wasm (V8), the proxy benchmark,
# and login-callback and refresh latency through wrangler dev. Prints a table with the targets
# and writes target/bench/report.json. Numbers, not a test. Uses the test ports: do not run it
# beside scripts/test.sh.
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
step "proxy"
node scripts/bench-proxy.mjs
step "agent latency"
node scripts/bench-agent.mjs
step_done
node scripts/bench-report.mjs
