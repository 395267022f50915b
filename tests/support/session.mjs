// A signed-in cookie jar, the way a browser gets one: login/start, the IdP's form, login/end.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ORIGIN, COOKIE_KEYS } from "./stack.mjs";
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

/** Opens one of our sealed cookies with the test run's key (what only the worker can do). */
export function openCookie(name, sealed) {
  const [version, kid, payload] = sealed.split(".");
  const [keyId, hex] = COOKIE_KEYS.split(":");
  if (kid !== keyId) throw new Error(`sealed with key ${kid}, not ${keyId}`);
  const bytes = Buffer.from(payload, "base64url");
  const decipher = createDecipheriv("aes-256-gcm", Buffer.from(hex, "hex"), bytes.subarray(0, 12));
  decipher.setAAD(Buffer.from(`edgeward/${version}/${kid}/${name}`));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
  return JSON.parse(plain.toString()).v;
}

/** Seals `value` as the worker would (with the test run's key): to forge cookies in tests. */
export function sealCookie(name, value, exp) {
  const [kid, hex] = COOKIE_KEYS.split(":");
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(hex, "hex"), nonce);
  cipher.setAAD(Buffer.from(`edgeward/1/${kid}/${name}`));
  const body = Buffer.concat([cipher.update(JSON.stringify({ exp, v: value })), cipher.final()]);
  return `1.${kid}.${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64url")}`;
}
