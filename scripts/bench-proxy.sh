#!/usr/bin/env bash
# scripts/bench-proxy.sh — builds the worker and the example API, then runs the proxy benchmark
# (scripts/bench-proxy.mjs). Uses the test ports: do not run it beside scripts/test.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"
bash scripts/build.sh
cargo build -q --release -p edgeward-example-api
node scripts/bench-proxy.mjs
