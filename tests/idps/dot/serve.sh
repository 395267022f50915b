#!/usr/bin/env bash
# tests/idps/dot/serve.sh — django-oauth-toolkit as an OpenID provider on 127.0.0.1:$DOT_PORT,
# issuer http://localhost:$DOT_PORT/o, with a fresh state in $DOT_STATE (sqlite database, RSA
# key): user demo/demo, confidential client $DOT_CLIENT_ID. Runs in the foreground (the server
# replaces this shell), so whoever started it stops it with its process group.
# Needs the venv scripts/setup.sh makes (target/idps/venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
py="${DOT_PYTHON:-$root/target/idps/venv/bin/python}"
[ -x "$py" ] || { echo "no $py: run scripts/setup.sh" >&2; exit 1; }
: "${DOT_PORT:?}" "${DOT_STATE:?}" "${DOT_CLIENT_ID:?}" "${DOT_CLIENT_SECRET:?}" "${DOT_REDIRECT_URIS:?}" "${DOT_POST_LOGOUT_URIS:?}"
export DOT_ISSUER="http://localhost:$DOT_PORT/o"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$DOT_STATE"
rm -f "$DOT_STATE/db.sqlite3"
openssl genrsa -out "$DOT_STATE/oidc.key" 2048 2>/dev/null
cd "$here"
"$py" manage.py migrate -v0
"$py" manage.py shell -v0 <provision.py
exec "$py" manage.py runserver "127.0.0.1:$DOT_PORT" --noreload
