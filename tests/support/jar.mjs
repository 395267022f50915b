// A minimal cookie jar for driving the worker and the IdP over HTTP like a browser would:
// cookies are kept per host name (browsers ignore the port for cookies), expired ones dropped.

export class CookieJar {
  constructor() {
    this.cookies = new Map(); // host -> Map(name -> { value, attrs })
  }

  /** Stores every Set-Cookie of `res`, received from `url`. */
  store(url, res) {
    const host = new URL(url).hostname;
    const jar = this.cookies.get(host) ?? new Map();
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";").map((s) => s.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const maxAge = attrs.find((a) => /^max-age=/i.test(a));
      if (maxAge && Number(maxAge.split("=")[1]) <= 0) jar.delete(name);
      else jar.set(name, { value, attrs, raw: line });
    }
    this.cookies.set(host, jar);
  }

  /** The Cookie header for `url`, or undefined. */
  header(url) {
    const jar = this.cookies.get(new URL(url).hostname);
    if (!jar || jar.size === 0) return undefined;
    return [...jar].map(([n, c]) => `${n}=${c.value}`).join("; ");
  }

  get(url, name) {
    return this.cookies.get(new URL(url).hostname)?.get(name);
  }

  set(url, name, value) {
    const host = new URL(url).hostname;
    const jar = this.cookies.get(host) ?? new Map();
    jar.set(name, { value, attrs: [], raw: `${name}=${value}` });
    this.cookies.set(host, jar);
  }

  /** fetch() with this jar's cookies, storing what comes back; never follows redirects. */
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set("cookie", cookie);
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    this.store(url, res);
    return res;
  }
}
