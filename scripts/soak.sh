#!/usr/bin/env bash
# scripts/soak.sh [seconds] — the soak run: 20 virtual users against the whole local stack
# (local IdP, the built worker in one workerd process, the example API) for 60 s by default;
# see scripts/soak.mjs for what each user does and the settings (SOAK_USERS, SOAK_ROUNDS,
# SOAK_PAUSE_MS, SOAK_TOKEN_TTL, SOAK_RUNTIME). Prints requests by status, latency percentiles
# and the worker's memory; exits non-zero on an unexpected status or a lost session.
# Uses the test ports: not beside scripts/test.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"
cargo build -q --release -p edgeward-example-api
node scripts/soak.mjs "${1:-60}"
