#!/usr/bin/env bash
# scripts/test.sh — every test suite, after installing what is missing:
#   1. format and lints (rustfmt, clippy -D warnings), and the core's module layout (no import
#      cycle, every use declared: scripts/core-layout.mjs)
#   2. native unit tests of the platform-free core and the shared contract (cargo test), and of
#      the operator's and client's tool edge/cli (cargo test -p edgeward-cli); the fuzz targets'
#      smoke run (scripts/fuzz.sh --smoke: each target 2 s on stable libFuzzer)
#   3. the SPA's wasm tests in headless Chromium (wasm-bindgen-test)
#   4. release build of SPA and worker, and a deployability check (wrangler deploy --dry-run)
#   5. integration tests against wrangler dev (workerd), the local IdP and Chromium, and against
#      two independent providers (django-oauth-toolkit, Glewlwyd: independent-idps.test.mjs;
#      both on one worker: multi-provider.test.mjs)
#   6. end-to-end tests: Chromium driven through chromedriver (WebDriver)
# Exits non-zero on any failure; the last line sums up the tests that ran.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"

bash scripts/setup.sh || die "setup failed"

logs="$EDGEWARD_ROOT/target/test-logs"
rm -rf "$logs"
mkdir -p "$logs"
failed_suites=()
passed=0
failed=0

# suite NAME CMD... — runs one suite, shows its output, and counts its tests.
suite() {
  local name="$1"
  shift
  step "$name"
  local log="$logs/$name.log"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  # cargo: "test result: ok. 3 passed; 0 failed; ..."; node: "ℹ pass 8" / "ℹ fail 0".
  local p f
  p=$(grep -hoE '(test result: [a-zA-Z]+\. [0-9]+ passed|^ℹ pass [0-9]+)' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  f=$(grep -hoE '([0-9]+ failed;|^ℹ fail [0-9]+)' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ "$status" -ne 0 ]; then
    failed_suites+=("$name")
    # A suite that died before counting anything still counts as one failure.
    [ "${f:-0}" -gt 0 ] || failed=$((failed + 1))
  fi
}

check_versions() {
  local locked trunk_wb
  locked="$(wasm_bindgen_version)"
  trunk_wb="$(sed -n 's/^wasm_bindgen = "\(.*\)"/\1/p' app/Trunk.toml)"
  [ "$locked" = "$trunk_wb" ] || { echo "app/Trunk.toml wasm_bindgen=$trunk_wb but Cargo.lock has $locked"; return 1; }
  echo "wasm-bindgen $locked everywhere"
}

lint() {
  cargo fmt --all --check && cargo clippy -q --all-targets -- -D warnings \
    && cargo clippy -q -p edgeward-cli --all-targets -- -D warnings
}

deploy_dry_run() {
  local out="$EDGEWARD_ROOT/target/deploy-dry-run"
  rm -rf "$out"
  npx wrangler deploy --dry-run --outdir "$out" || return 1
  local wasm
  wasm="$(find "$out" -name '*.wasm' | head -1)"
  [ -n "$wasm" ] || { echo "no wasm in the dry-run bundle"; return 1; }
  printf 'worker wasm in bundle: %s bytes raw, %s bytes gzip\n' "$(stat -c %s "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
  local spa
  spa="$(find dist -name '*_bg.wasm' | head -1)"
  printf 'SPA wasm: %s bytes raw, %s bytes gzip\n' "$(stat -c %s "$spa")" "$(gzip -9c "$spa" | wc -c)"
}

suite versions check_versions
suite lint lint
suite layout node scripts/core-layout.mjs
suite native cargo test
# The CLI is no default member (its rcgen, ring and rustls stay out of the core's builds).
suite cli cargo test -p edgeward-cli
# Seeds and every crash ever found are replayed by the native suite (fuzz_regressions.rs); this
# runs the engine itself for 2 s a target (about 30 s, plus a 2-minute build when cold).
suite fuzz-smoke bash scripts/fuzz.sh --smoke
suite wasm-browser bash scripts/test-spa-browser.sh
suite build bash scripts/build.sh
suite deploy-dry-run deploy_dry_run
# Every wait is bounded: a test that hangs fails after 5 minutes, a suite after its limit (a
# healthy run takes about a fifth of it), and the servers a suite started go with it.
node_suite() {
  local limit="$1"
  shift
  timeout --kill-after=30 "$limit" node --test --test-reporter=spec --test-concurrency=1 --test-timeout=300000 "$@"
}
# The worker's JavaScript (edge/worker/js/net.mjs) on its own, in Node: seconds.
suite js node_suite 120 tests/js/
suite integration node_suite 1800 tests/integration/
suite e2e node_suite 600 tests/e2e/
step_done

echo
if [ ${#failed_suites[@]} -eq 0 ]; then
  echo "all suites passed (logs in target/test-logs/)"
else
  echo "failed suites: ${failed_suites[*]} (logs in target/test-logs/)"
fi
echo "summary: $passed passed, $failed failed"
[ ${#failed_suites[@]} -eq 0 ]
