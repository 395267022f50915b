#!/usr/bin/env bash
# scripts/fuzz.sh [minutes] [target...] — runs the coverage-guided fuzz targets in fuzz/ one
# after another, each for `minutes` (default 1) on one core, and prints per target its run
# time, executions per second and findings. Exits non-zero when any target crashed.
# scripts/fuzz.sh --smoke — the test command's smoke run: every target for 2 s.
#
# The engine is libFuzzer through the crate libfuzzer-sys, built by STABLE Rust: the same
# SanitizerCoverage instrumentation `cargo fuzz` asks for, by `-C passes=sancov-module` and
# LLVM arguments, without `-Z sanitizer` (no AddressSanitizer, which needs nightly; Rust code
# here is safe and gets overflow checks and debug assertions instead). README "Fuzzing".
#
# Each target starts from its checked-in seeds (fuzz/seeds/<target>/) and grows a corpus in
# target/fuzz/corpus/<target>/. A crash input is copied to fuzz/regressions/<target>/, which
# `cargo test -p edgeward-core --test fuzz_regressions` replays natively: commit it with the fix.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"

targets_all=(cookie_value cookie_jar jwt introspection token_answer page_url return_to path config x509 pop)
seconds=60
if [ "${1:-}" = "--smoke" ]; then
  seconds=2
  shift
elif [ -n "${1:-}" ]; then
  seconds=$(awk -v m="$1" 'BEGIN { printf "%d", m * 60 }')
  shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")

export CARGO_TARGET_DIR="$EDGEWARD_ROOT/target/fuzz"
triple="$(rustc +stable -vV | sed -n 's/^host: //p')"
# What cargo-fuzz passes, minus -Zsanitizer: edge-level coverage with 8-bit counters, the PC
# table libFuzzer needs, and comparison tracing (it finds the magic values in parsers).
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target: RUSTFLAGS then instrument the targets only, not build scripts and proc macros.
(cd fuzz && cargo +stable build -q --release --target "$triple" --bins) || die "fuzz build failed"
bin="$CARGO_TARGET_DIR/$triple/release"

crashed=0
printf '%-14s %8s %12s %10s %9s\n' target seconds runs "exec/s" findings
for t in "${targets[@]}"; do
  corpus="$CARGO_TARGET_DIR/corpus/$t"
  crashes="$CARGO_TARGET_DIR/crashes/$t"
  mkdir -p "$corpus" "$crashes" "fuzz/seeds/$t"
  log="$CARGO_TARGET_DIR/logs/$t.log"
  mkdir -p "$(dirname "$log")"
  touch "$log.start"
  start=$(date +%s)
  "$bin/$t" "$corpus" "fuzz/seeds/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  status=$?
  took=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  found=$(find "$crashes" -type f -newer "$log.start" | wc -l)
  if [ "$status" -ne 0 ]; then
    crashed=1
    [ "$found" -gt 0 ] || found="exit $status"
    mkdir -p "fuzz/regressions/$t"
    find "$crashes" -type f -newer "$log.start" -exec cp {} "fuzz/regressions/$t/" \;
    grep -m3 -E 'panicked|ERROR|SUMMARY' "$log" | sed 's/^/    /'
  fi
  printf '%-14s %8s %12s %10s %9s\n' "$t" "$took" "${runs:-?}" "${rate:-?}" "$found"
done
[ "$crashed" -eq 0 ] || die "a fuzz target crashed: inputs copied to fuzz/regressions/ (logs in $CARGO_TARGET_DIR/logs/)"
echo "fuzz: ${#targets[@]} targets, no finding"
