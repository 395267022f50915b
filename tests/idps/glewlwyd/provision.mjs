// Sets up a Glewlwyd that tests/idps/glewlwyd/serve.sh started, over its admin REST API (as the
// built-in admin/password): the scopes, the OpenID Connect plugin at <base>/api/oidc (RS256 with
// the state's key, PKCE S256 required, refresh tokens rotated on every use, RFC 9207 `iss`,
// back-channel logout), the worker's confidential client and the user demo/demo.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CookieJar } from "../../support/jar.mjs";

export async function provisionGlewlwyd({ base, state, clientId, clientSecret, redirectUris, postLogoutUris, backchannelUri }) {
  const admin = new CookieJar();
  const call = async (method, path, body) => {
    const res = await admin.fetch(`${base}/api${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status < 200 || res.status > 299) {
      throw new Error(`Glewlwyd ${method} /api${path} answered ${res.status}: ${await res.text()}`);
    }
  };
  await call("POST", "/auth/", { username: "admin", password: "password" });
  for (const name of ["profile", "email", "offline_access"]) {
    await call("POST", "/scope/", { name, display_name: name, description: name, password_required: true, password_max_age: 0 });
  }
  await call("POST", "/mod/plugin/", {
    module: "oidc",
    name: "oidc",
    display_name: "OpenID Connect",
    enabled: true,
    parameters: {
      iss: `${base}/api/oidc`,
      "jwt-type": "rsa",
      "jwt-key-size": "256",
      key: readFileSync(join(state, "sign.key"), "utf8"),
      cert: readFileSync(join(state, "sign.pub"), "utf8"),
      "jwks-show": true,
      "access-token-duration": 300,
      "refresh-token-duration": 86400,
      "code-duration": 600,
      "refresh-token-rolling": true,
      "refresh-token-one-use": "always",
      "allow-non-oidc": false,
      "auth-type-code-enabled": true,
      "auth-type-refresh-enabled": true,
      "auth-type-code-revoke-replayed": true,
      "pkce-allowed": true,
      "pkce-required": true,
      "pkce-method-plain-allowed": false,
      "introspection-revocation-allowed": true,
      "introspection-revocation-allow-target-client": true,
      "session-management-allowed": true,
      // Required once session management is on.
      "session-cookie-name": "GLEWLWYD2_OIDC_SID",
      "session-cookie-expiration": 86400,
      "back-channel-logout-allowed": true,
      "oauth-as-iss-id": true,
      "subject-type": "public",
      "allowed-scope": ["openid", "profile", "email", "offline_access"],
      "name-claim": "on-demand",
      "name-claim-scope": ["profile"],
      "email-claim": "on-demand",
      "email-claim-scope": ["email"],
      claims: [
        { name: "preferred_username", "user-property": "username", type: "string", scope: ["profile"], mandatory: false, "on-demand": false },
      ],
    },
  });
  await call("POST", "/client/", {
    client_id: clientId,
    name: "edgeward",
    enabled: true,
    confidential: true,
    client_secret: clientSecret,
    redirect_uri: redirectUris,
    post_logout_redirect_uris: postLogoutUris,
    authorization_type: ["code", "refresh_token"],
    token_endpoint_auth_method: ["client_secret_basic"],
    backchannel_logout_uri: backchannelUri,
    // A string, not a boolean, in 2.7.
    backchannel_logout_session_required: "true",
  });
  await call("POST", "/user/", {
    username: "demo",
    password: "demo",
    name: "Demo User",
    email: "demo@example.com",
    enabled: true,
    scope: ["openid", "profile", "email", "offline_access"],
  });
}
