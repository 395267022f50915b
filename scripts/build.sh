#!/usr/bin/env bash
# scripts/build.sh — builds everything that gets deployed: the SPA (trunk → dist/) and the
# worker bundle (→ build/worker/), plus the example API the local stack runs behind the proxy.
# EDGEWARD_BUILD=dev builds SPA and worker unoptimised.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"

mode="${EDGEWARD_BUILD:-release}"
trunk_flags=()
[ "$mode" = release ] && trunk_flags=(--release)

mkdir -p target
(cd app && with_wasm_toolchain trunk build "${trunk_flags[@]}" >"$EDGEWARD_ROOT/target/trunk-build.log" 2>&1) \
  || { cat target/trunk-build.log; die "trunk build failed"; }
bash scripts/build-worker.sh
# The example API behind the proxy (a native test fixture, also run by dev.sh).
cargo build -q -p edgeward-example-api
# The operator's and client's tool (native only; the machine-client suite runs it).
cargo build -q -p edgeward-cli
