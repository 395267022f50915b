#!/usr/bin/env bash
# scripts/bench-wasm.sh — builds edge/bench with the worker's release profile and prints the
# cost of the core's CPU-heavy steps in wasm (V8, in Node), then the cookie cipher's steps in
# workerd (scripts/bench-wasm-workerd.mjs: Node's WebCrypto is not workerd's). Numbers, not a
# pass/fail test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"
with_wasm_toolchain cargo build -q --release --target wasm32-unknown-unknown -p edgeward-bench
rm -rf target/bench-wasm
wasm-bindgen --target web --no-typescript --out-dir target/bench-wasm \
  target/wasm32-unknown-unknown/release/edgeward_bench.wasm
node scripts/bench-wasm.mjs
node scripts/bench-wasm-workerd.mjs
# The profile of one case: node scripts/profile-wasm.mjs session (see that script).
