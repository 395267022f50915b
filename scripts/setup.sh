#!/usr/bin/env bash
# scripts/setup.sh — installs everything edgeward needs, on a fresh Debian machine with only the
# package registries reachable. Idempotent: each step checks first and is quick when done.
#
#   Rust wasm32 target   rustup's if it can be had quickly, else built from Debian's rustc-web
#   wasm-bindgen-cli     exactly the version in Cargo.lock (it must match the crate)
#   trunk                builds and serves the SPA
#   node packages        wrangler (workerd), oidc-provider (the local IdP), binaryen (wasm-opt)
#   chromium             with chromedriver, for wasm-bindgen-test and the end-to-end tests
#   glewlwyd             (Debian) and django-oauth-toolkit (PyPI, a venv in target/idps/venv):
#                        two independent OpenID providers for tests/integration/independent-idps
#   chDB                 (PyPI, a venv in target/metrics-sql/venv): ClickHouse in process, for
#                        the audit suite's run of README's metrics SQL
#
# EDGEWARD_WASM_FROM_DEBIAN=1 skips the rustup attempt (to exercise the fallback).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"
setup_start=$(date +%s)

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# glewlwyd, sqlite3, openssl, python3-venv: the independent providers of the integration tests
# (tests/idps/). Glewlwyd's postinst picks sqlite3 for its packaged instance and installs a
# systemd unit it does not start; the tests run their own instance with their own state.
# g++: libfuzzer-sys compiles libFuzzer (C++) for the fuzz targets (fuzz/, README "Fuzzing").
apt_packages=(chromium chromium-driver rustc-web cargo-web rust-web-src lld-19 glewlwyd sqlite3 openssl python3-venv g++)
step "Debian packages: ${apt_packages[*]}"
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say "all installed"
else
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "Rust wasm32-unknown-unknown target"
if [ -n "$(wasm_toolchain)" ]; then
  say "present (toolchain: $(wasm_toolchain))"
elif [ -z "${EDGEWARD_WASM_FROM_DEBIAN:-}" ] \
  && timeout 30 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  say "added with rustup"
else
  # rustup cannot download here: build the wasm32 std with Debian's rustc (which has the
  # WebAssembly backend and ships the std sources) and link /usr as rustup toolchain "web".
  say "rustup cannot fetch it; building std for wasm32 with Debian's rustc-web (about a minute)"
  tmp="$(mktemp -d)"
  mkdir -p "$tmp/src"
  printf '[package]\nname = "stdbuild"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["cdylib"]\n[workspace]\n' >"$tmp/Cargo.toml"
  : >"$tmp/src/lib.rs"
  # -Cembed-bitcode=yes keeps LTO builds possible; "test" is needed by wasm-bindgen-test.
  (cd "$tmp" && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 \
    /usr/bin/cargo build -q --release -Zbuild-std=std,panic_abort,test --target wasm32-unknown-unknown)
  $SUDO mkdir -p /usr/lib/rustlib/wasm32-unknown-unknown/lib
  $SUDO find /usr/lib/rustlib/wasm32-unknown-unknown/lib -name '*.rlib' -delete
  find "$tmp/target/wasm32-unknown-unknown/release/deps" -name 'lib*.rlib' ! -name 'libstdbuild*' \
    -exec $SUDO cp {} /usr/lib/rustlib/wasm32-unknown-unknown/lib/ \;
  $SUDO mkdir -p /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin
  $SUDO ln -sf /usr/lib/llvm-19/bin/lld /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld
  rustup toolchain link web /usr
  rm -rf "$tmp"
  # cargo does not track the sysroot: artifacts built against another std must go.
  rm -rf "$EDGEWARD_ROOT/target/wasm32-unknown-unknown"
  [ "$(wasm_toolchain)" = web ] || die "the wasm32 std build did not produce a usable toolchain"
  say "toolchain \"web\" ready ($(/usr/bin/rustc --version))"
fi

wb_version="$(wasm_bindgen_version)"
[ -n "$wb_version" ] || die "Cargo.lock names no wasm-bindgen version"
step "wasm-bindgen-cli $wb_version"
if [ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $wb_version" ] \
  && [ -x "$(command -v wasm-bindgen-test-runner)" ]; then
  say "present"
else
  fast_install_env cargo install -q --force wasm-bindgen-cli --version "=$wb_version"
fi

step "trunk $TRUNK_VERSION"
if [ "$(trunk --version 2>/dev/null)" = "trunk $TRUNK_VERSION" ]; then
  say "present"
else
  fast_install_env cargo install -q --force trunk --version "=$TRUNK_VERSION" --locked
fi

step "node packages (package-lock.json)"
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.edgeward-lock; then
  say "up to date"
else
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.edgeward-lock
fi

# python_venv DIR REQUIREMENTS MODULE VERSION-CODE: a venv in DIR with REQUIREMENTS (pinned),
# made again when they changed or MODULE does not import; says what VERSION-CODE prints.
python_venv() {
  local venv="$EDGEWARD_ROOT/$1" reqs="$EDGEWARD_ROOT/$2"
  if [ -x "$venv/bin/python" ] && cmp -s "$reqs" "$venv/.edgeward-requirements" \
    && "$venv/bin/python" -c "import $3" 2>/dev/null; then
    say "up to date"
  else
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
    cp "$reqs" "$venv/.edgeward-requirements"
    say "installed $("$venv/bin/python" -c "$4")"
  fi
}

step "django-oauth-toolkit (tests/idps/dot/requirements.txt) in target/idps/venv"
python_venv target/idps/venv tests/idps/dot/requirements.txt oauth2_provider \
  'import oauth2_provider, django; print("django-oauth-toolkit", oauth2_provider.__version__, "on Django", django.get_version())'

step "chDB (tests/metrics-sql/requirements.txt) in target/metrics-sql/venv"
python_venv target/metrics-sql/venv tests/metrics-sql/requirements.txt chdb \
  'import chdb; print("chDB", chdb.__version__)'

step "Rust crates (cargo fetch), the fuzz crate's too (fuzz/: libfuzzer-sys, stable)"
cargo fetch -q
# The fuzz engine is a crate: nothing to install beyond g++ (above); its own lock file.
(cd fuzz && cargo fetch -q)

step_done
printf 'setup complete in %ss\n' "$(( $(date +%s) - setup_start ))"
