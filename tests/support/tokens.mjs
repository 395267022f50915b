// Tokens the tests get from the local IdP directly, as other parties would: client-credentials
// access tokens (of the worker's client or another), the attacks a phantom-token proxy must
// refuse, and logout tokens signed with the IdP's key (its test hook).
import { ISSUER, ORIGIN, CLIENT_SECRET } from "./stack.mjs";
import { openCookie } from "./session.mjs";

/** A client-credentials access token of `client` (optionally for the API `resource`, with `scope`). */
export async function clientToken(client, secret, resource, scope = "openid") {
  const body = new URLSearchParams({ grant_type: "client_credentials", scope });
  if (resource) body.set("resource", resource);
  const res = await fetch(`${ISSUER}/token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString("base64")}` },
    body,
  });
  const answer = await res.json();
  if (res.status !== 200) throw new Error(`client credentials for ${client}: ${JSON.stringify(answer)}`);
  return answer.access_token;
}

/**
 * Tokens that are active at introspection but must never be exchanged for this deployment's APIs:
 * [what, token] pairs. `jar` is a signed-in session (its refresh token is one of them).
 */
export async function tokensNotForUs(jar) {
  // oidc-provider answers introspection of a refresh token as active, without token_type.
  const refresh = openCookie("__Host-edgeward-rt", jar.get(ORIGIN, "__Host-edgeward-rt").value);
  return [
    ["a refresh token", refresh.token],
    ["another client's access token", await clientToken("other-client", "other-client-secret")],
    ["an access token for another API", await clientToken("edgeward", CLIENT_SECRET, "https://other-api.example/")],
  ];
}

/** A logout token signed with the IdP's own key, with `claims` laid over good ones. */
export async function signedLogoutToken(claims) {
  const now = Math.floor(Date.now() / 1000);
  const base = {
    iss: ISSUER,
    aud: "edgeward",
    iat: now,
    exp: now + 120,
    jti: `j-${Math.random()}`,
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
  };
  const res = await fetch(`${ISSUER}/_test/sign-logout-token`, { method: "POST", body: JSON.stringify({ ...base, ...claims }) });
  return (await res.json()).token;
}
