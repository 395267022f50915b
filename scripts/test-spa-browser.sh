#!/usr/bin/env bash
# The wasm-bindgen tests in headless Chromium (chromedriver): the SPA's, and those of the
# worker's WebCrypto verifier (edge/webcrypto). The SPA's client tests call the API stand-in
# over real fetch (tests/support/api-standin.mjs, port 8097).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"

port="${STANDIN_PORT:-8097}"
mkdir -p test-artifacts
STANDIN_PORT="$port" node tests/support/api-standin.mjs >test-artifacts/api-standin.log 2>&1 &
standin=$!
trap 'kill "$standin" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -s -o /dev/null "http://127.0.0.1:$port/up/_stats" && break
  sleep 0.1
done

EDGEWARD_STANDIN="http://127.0.0.1:$port" CHROMEDRIVER=/usr/bin/chromedriver \
  with_wasm_toolchain cargo test --target wasm32-unknown-unknown -p edgeward-app -p edgeward-webcrypto
