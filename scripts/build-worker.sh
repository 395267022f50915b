#!/usr/bin/env bash
# scripts/build-worker.sh — builds the worker bundle into build/worker/ (wrangler's `main`).
#
#   cargo (wasm32, release) → wasm-bindgen --target module → the glue made a factory
#   (scripts/glue-factory.mjs) → wasm-opt → entry.mjs beside it
#
# wrangler runs this as its build command, so `wrangler dev` and `wrangler deploy` always run
# the current code. EDGEWARD_BUILD=dev builds unoptimised (fast compile, big and slow wasm).
#
# EDGEWARD_WORKER_FEATURES (comma-separated cargo features of edgeward-worker, e.g. test-trap)
# builds a test bundle into build/worker-<features>/ instead, so build/worker/ (what
# `wrangler deploy` uploads) never holds one; point wrangler at it with
# `wrangler dev build/worker-<features>/entry.mjs`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"

mode="${EDGEWARD_BUILD:-release}"
features="${EDGEWARD_WORKER_FEATURES:-}"
case "$features" in
  "") out="build/worker"; feature_flags=() ;;
  *[!a-z0-9,-]*) die "EDGEWARD_WORKER_FEATURES must be a comma-separated list of feature names, not $features" ;;
  *) out="build/worker-${features//,/-}"; feature_flags=(--features "$features") ;;
esac
case "$mode" in
  release) cargo_flags=(--release); dir=release ;;
  # panic = "abort" as in release (wasm32's default too, said here so it cannot drift): a
  # panic is a trap in every build, and a test build traps as production does.
  dev) cargo_flags=(--config 'profile.dev.panic="abort"'); dir=debug ;;
  *) die "EDGEWARD_BUILD must be release or dev, not $mode" ;;
esac

with_wasm_toolchain cargo build -q "${cargo_flags[@]}" "${feature_flags[@]}" \
  --target wasm32-unknown-unknown -p edgeward-worker
wasm="target/wasm32-unknown-unknown/$dir/edgeward_worker.wasm"
stamp="$out/.built-from"
built_from="$mode [$features] $(stat -c %Y "$wasm") $(sha256sum scripts/glue-factory.mjs | cut -c1-16)"

# wasm-bindgen and wasm-opt take seconds: skip them when the cargo output (and what rewrites
# the glue) has not changed.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$built_from" ] && [ -f "$out/entry.mjs" ]; then
  cp edge/worker/js/entry.mjs "$out/entry.mjs"
  exit 0
fi

rm -rf "$out"
mkdir -p "$out/pkg"
wasm-bindgen --target module --no-typescript --out-name edgeward --out-dir "$out/pkg" "$wasm"
# wasm-bindgen emits `import source mod from "x.wasm"` (source-phase imports), which wrangler's
# esbuild does not parse; wrangler turns a plain import of a .wasm file into a WebAssembly.Module.
sed -i 's/^import source /import /' "$out/pkg/edgeward.js"
# The glue as a factory of instances: entry.mjs runs each lane on its own (README "Traps").
node scripts/glue-factory.mjs "$out/pkg/edgeward.js"
if [ "$mode" = release ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out/pkg/edgeward_bg.wasm" -o "$out/pkg/edgeward_bg.wasm"
fi
cp edge/worker/js/entry.mjs "$out/entry.mjs"
echo "$built_from" >"$stamp"
