// Tokens the tests get from the local IdP directly, as other parties would: client-credentials
// access tokens (of the worker's client or another), the attacks a phantom-token proxy must
// refuse, logout tokens signed with the IdP's key (its test hook), and tokens signed with a
// minting key as the worker signs them.
import { createECDH, createPrivateKey, sign } from "node:crypto";
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

/**
 * A JWT signed as the worker signs its minted tokens: ES256 with the key `spec`
 * (`kid:<32-byte P-256 secret, base64url>`, as `EDGEWARD_MINT_KEY`), header typ `at+jwt`.
 */
export function mintedWith(spec, claims) {
  const [kid, d] = spec.split(":");
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(Buffer.from(d, "base64url"));
  const point = ecdh.getPublicKey();
  const coordinate = (from, to) => point.subarray(from, to).toString("base64url");
  const key = createPrivateKey({
    key: { kty: "EC", crv: "P-256", d, x: coordinate(1, 33), y: coordinate(33, 65) },
    format: "jwk",
  });
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "ES256", typ: "at+jwt", kid })}.${part(claims)}`;
  const signature = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}
