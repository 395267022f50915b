# scripts/lib.sh — shared helpers for edgeward's scripts. Source it; it does nothing by itself.
#
# It fixes the environment every script agrees on: where the tools live, which Rust toolchain
# builds wasm32, and the versions we pin.

EDGEWARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export EDGEWARD_ROOT

# Pinned tool versions (wasm-bindgen's comes from Cargo.lock, see wasm_bindgen_version).
TRUNK_VERSION="0.21.14"
export WRANGLER_SEND_METRICS=false
export TRUNK_SKIP_VERSION_CHECK=true
export PATH="$EDGEWARD_ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Release-profile settings for `cargo install` of our tools: trunk and wasm-bindgen-cli default to
# fat LTO, which costs tens of minutes on a 2-core machine for no gain in a dev tool.
fast_install_env() {
  CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
  "$@"
}

_step_name=""
_step_start=0
# step "what" — prints a numbered, timed step header; the previous step's time is printed first.
step() {
  step_done
  _step_name="$1"
  _step_start=$(date +%s)
  printf '\033[1m==> %s\033[0m\n' "$_step_name"
}
step_done() {
  if [ -n "$_step_name" ]; then
    printf '    %s: %ss\n' "$_step_name" "$(( $(date +%s) - _step_start ))"
    _step_name=""
  fi
}
say() { printf '    %s\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version Cargo.lock resolved: the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
    "$EDGEWARD_ROOT/Cargo.lock"
}

# Which rustup toolchain builds wasm32-unknown-unknown: "stable" when rustup has the target,
# otherwise "web" (Debian's rustc-web with a std we built, see setup.sh). Empty if neither.
wasm_toolchain() {
  if rustup target list --installed --toolchain stable 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo stable
  elif rustup toolchain list 2>/dev/null | grep -q '^web' \
    && ls /usr/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib >/dev/null 2>&1; then
    echo web
  fi
}

# Run a command with the wasm toolchain selected (cargo, trunk and wasm-bindgen-test-runner
# all honour RUSTUP_TOOLCHAIN).
with_wasm_toolchain() {
  local tc
  tc="$(wasm_toolchain)"
  [ -n "$tc" ] || die "no wasm32 toolchain: run scripts/setup.sh"
  RUSTUP_TOOLCHAIN="$tc" "$@"
}
