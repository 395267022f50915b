#!/usr/bin/env bash
# scripts/bench-proxy.sh — builds the worker and the example API, then runs the proxy and read
# benchmark (scripts/bench-proxy.mjs) in `wrangler dev` and in one workerd process (the dry-run
# bundle). Uses the test ports (TEST_WORKER_PORT, TEST_IDP_PORT, TEST_API_PORT): do not run it
# beside scripts/test.sh on the same ports.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"
bash scripts/build.sh
cargo build -q --release -p edgeward-example-api
rm -rf target/bench/dry-run
npx wrangler deploy --dry-run --outdir target/bench/dry-run >/dev/null
for runtime in ${BENCH_RUNTIMES:-wrangler workerd}; do
  BENCH_RUNTIME="$runtime" BENCH_WORKERD_BUNDLE="$EDGEWARD_ROOT/target/bench/dry-run" node scripts/bench-proxy.mjs
done
