#!/usr/bin/env bash
# scripts/dev.sh — the whole local stack, one command:
#   local IdP (oidc-provider)  http://localhost:9000   (demo / demo)
#   app + worker (wrangler)    http://localhost:8787
#   example API                http://localhost:8081   (behind /api/whoami, /api/echo)
# Ctrl-C stops everything it started. Installs what is missing first (scripts/setup.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$EDGEWARD_ROOT"

bash scripts/setup.sh
if [ ! -f .dev.vars ]; then
  key="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
  mint="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  sed -e "s/MINT_KEY_GENERATED_BY_DEV_SH/$mint/" -e "s/GENERATED_BY_DEV_SH/$key/" .dev.vars.example >.dev.vars
  say "created .dev.vars from .dev.vars.example, with new random cookie and minting keys"
fi

step "build (SPA and worker)"
mkdir -p target
bash scripts/build.sh
step_done

pids=()
stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "edgeward dev stack stopped"
}
trap stop_all INT TERM EXIT

# Each child leads its own process group, so stopping it stops what it started (workerd).
setsid node tests/idp/server.mjs &
pids+=($!)
setsid npx wrangler dev --port 8787 &
pids+=($!)
PORT=8081 setsid target/debug/edgeward-example-api &
pids+=($!)

wait_up() {
  for _ in $(seq 1 240); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.5
  done
  die "$2 did not start; see the output above"
}
wait_up http://localhost:9000/.well-known/openid-configuration "the local IdP"
wait_up http://localhost:8787/auth/session "wrangler dev"

printf '\n\033[1medgeward is running: http://localhost:8787\033[0m\n'
printf '  local IdP http://localhost:9000 (user demo, password demo)\n'
printf '  example API behind /api/whoami and /api/echo (http://localhost:8081)\n'
printf '  SPA hot reload: (cd app && trunk serve) → http://localhost:8080\n'
printf '  Ctrl-C stops everything.\n\n'
wait
