// A signed-in cookie jar, the way a browser gets one: login/start, the IdP's form, login/end.
import { ORIGIN } from "./stack.mjs";
import { CookieJar } from "./jar.mjs";
import { loginAtIdp } from "./idp-login.mjs";

/** Returns `{ jar, csrf }` for a fresh session of the demo user. */
export async function signIn(origin = ORIGIN) {
  const jar = new CookieJar();
  const headers = { origin, "content-type": "application/json" };
  const start = await jar.fetch(`${origin}/auth/login/start`, { method: "POST", headers, body: "{}" });
  if (start.status !== 200) throw new Error(`login/start answered ${start.status}`);
  const { authorizationUrl } = await start.json();
  const callback = await loginAtIdp(jar, authorizationUrl, { callbackPrefix: `${origin}/callback` });
  const end = await jar.fetch(`${origin}/auth/login/end`, {
    method: "POST",
    headers,
    body: JSON.stringify({ pageUrl: callback }),
  });
  if (end.status !== 200) throw new Error(`login/end answered ${end.status}: ${await end.text()}`);
  return { jar, csrf: (await end.json()).csrf };
}
