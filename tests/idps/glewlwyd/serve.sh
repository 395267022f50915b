#!/usr/bin/env bash
# tests/idps/glewlwyd/serve.sh — Glewlwyd (Debian package `glewlwyd`) on 127.0.0.1:$GW_PORT with
# its own fresh state in $GW_STATE: a sqlite database from the package's schema (admin/password),
# an RS256 key, a copy of the login web app, and a config file. /etc/glewlwyd and the package's
# systemd unit are not used. Runs in the foreground (glewlwyd replaces this shell), so whoever
# started it stops it with its process group. The OIDC plugin, the client and the user are made
# afterwards over the admin API (tests/idps/glewlwyd/provision.mjs).
set -euo pipefail
: "${GW_PORT:?}" "${GW_STATE:?}"
command -v glewlwyd >/dev/null || { echo "glewlwyd is not installed: run scripts/setup.sh" >&2; exit 1; }
share=/usr/share/glewlwyd
schema=/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz
mkdir -p "$GW_STATE"
cd "$GW_STATE"
rm -rf glewlwyd.db webapp

zcat "$schema" | sqlite3 glewlwyd.db
# The packaged client backend stores no post_logout_redirect_uris (a client POST naming them is
# refused: "must be a string value"); declare it a list before the server reads the settings.
sqlite3 glewlwyd.db "UPDATE g_client_module_instance SET gcmi_parameters = json_set(gcmi_parameters,
  '\$.data-format.post_logout_redirect_uris', json('{\"multiple\":true,\"read\":true,\"write\":true}'))
  WHERE gcmi_name = 'database';"

openssl genrsa -out sign.key 2048 2>/dev/null
openssl rsa -in sign.key -pubout -out sign.pub 2>/dev/null

# The login app's config.json is a symlink to /etc/glewlwyd/config-2.7.json, which Debian 12's
# package installs as a directory holding the file (the page then hangs on "Loading..."), and
# the static server follows no symlinks: serve a real copy.
cp -rL "$share/webapp" webapp 2>/dev/null || true
rm -rf webapp/config.json
app_config=/etc/glewlwyd/config-2.7.json
[ -d "$app_config" ] && app_config="$app_config/config.json"
cp "$app_config" webapp/config.json

# libconfig syntax. Do not write use_secure_connection at all: any value makes 2.7.5 ask for
# certificate files and exit.
cat > glewlwyd.conf <<CONF
port=$GW_PORT
external_url="http://localhost:$GW_PORT"
bind_address="127.0.0.1"
login_url="login.html"
static_files_path="$GW_STATE/webapp/"
api_prefix="api"
allow_origin="*"
log_mode="console"
log_level="WARNING"
cookie_secure=0
cookie_same_site="empty"
session_expiration=86400
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=false
login_api_enabled=true
add_x_frame_option_header_deny=true
max_post_size=16778240
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="/usr/lib/glewlwyd/user"
client_module_path="/usr/lib/glewlwyd/client"
user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
plugin_module_path="/usr/lib/glewlwyd/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3" path = "$GW_STATE/glewlwyd.db" };
static_files_mime_types = (
  { extension = ".html" mime_type = "text/html" },
  { extension = ".css" mime_type = "text/css" },
  { extension = ".js" mime_type = "application/javascript" },
  { extension = ".json" mime_type = "application/json" },
  { extension = ".woff2" mime_type = "font/woff2" },
  { extension = ".png" mime_type = "image/png" },
  { extension = ".ico" mime_type = "image/x-icon" }
)
CONF
exec glewlwyd --config-file="$GW_STATE/glewlwyd.conf"
