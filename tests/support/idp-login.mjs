// The browser's part of a login at the local IdP: follow its redirects, fill in its form, and
// stop at the redirect back to the app. Returns the callback URL (with code, state, iss).
// `issuer`: another instance of the local IdP (the token broker's third-party provider).
import { ISSUER } from "./stack.mjs";

export async function loginAtIdp(jar, authorizationUrl, { username = "demo", password = "demo", callbackPrefix, issuer = ISSUER } = {}) {
  let url = authorizationUrl;
  for (let hop = 0; hop < 10; hop++) {
    if (callbackPrefix && url.startsWith(callbackPrefix)) return url;
    const res = await jar.fetch(url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get("location"), url).href;
      continue;
    }
    const html = await res.text();
    const action = html.match(/<form method="post" action="([^"]+)"/)?.[1];
    if (res.status !== 200 || !action) {
      throw new Error(`unexpected IdP answer at ${url}: ${res.status} ${html.slice(0, 200)}`);
    }
    const post = await jar.fetch(new URL(action, issuer).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username, password }).toString(),
    });
    if (post.status === 401) throw new Error("the IdP refused the credentials");
    url = new URL(post.headers.get("location"), issuer).href;
  }
  throw new Error("too many redirects at the IdP");
}
