#!/usr/bin/env bash
# scripts/build-worker.sh — builds the worker bundle into build/worker/ (wrangler's `main`).
#
#   cargo (wasm32, release) → wasm-bindgen --target module → wasm-opt → entry.mjs beside it
#
# wrangler runs this as its build command, so `wrangler dev` and `wrangler deploy` always run
# the current code. EDGEWARD_BUILD=dev builds unoptimised (fast compile, big and slow wasm).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"

mode="${EDGEWARD_BUILD:-release}"
out="build/worker"
case "$mode" in
  release) cargo_flags=(--release); dir=release ;;
  dev) cargo_flags=(); dir=debug ;;
  *) die "EDGEWARD_BUILD must be release or dev, not $mode" ;;
esac

with_wasm_toolchain cargo build -q "${cargo_flags[@]}" --target wasm32-unknown-unknown -p edgeward-worker
wasm="target/wasm32-unknown-unknown/$dir/edgeward_worker.wasm"
stamp="$out/.built-from"

# wasm-bindgen and wasm-opt take seconds: skip them when the cargo output has not changed.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$mode $(stat -c %Y "$wasm")" ] && [ -f "$out/entry.mjs" ]; then
  cp edge/worker/js/entry.mjs "$out/entry.mjs"
  exit 0
fi

rm -rf "$out"
mkdir -p "$out/pkg"
# --experimental-reset-state-function: lets entry.mjs recover an instance after a trap.
wasm-bindgen --target module --no-typescript --out-name edgeward --out-dir "$out/pkg" \
  --experimental-reset-state-function "$wasm"
# wasm-bindgen emits `import source mod from "x.wasm"` (source-phase imports), which wrangler's
# esbuild does not parse; wrangler turns a plain import of a .wasm file into a WebAssembly.Module.
sed -i 's/^import source /import /' "$out/pkg/edgeward.js"
if [ "$mode" = release ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/pkg/edgeward_bg.wasm" -o "$out/pkg/edgeward_bg.wasm"
fi
cp edge/worker/js/entry.mjs "$out/entry.mjs"
echo "$mode $(stat -c %Y "$wasm")" >"$stamp"
