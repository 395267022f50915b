// A signed-in cookie jar, the way a browser gets one: login/start, the IdP's form, login/end.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { ORIGIN, COOKIE_KEYS } from "./stack.mjs";
import { CookieJar } from "./jar.mjs";
import { loginAtIdp } from "./idp-login.mjs";

/** Returns `{ jar, csrf }` for a fresh session of the demo user (or of `user`). */
export async function signIn(origin = ORIGIN, { user = "demo" } = {}) {
  const jar = new CookieJar();
  const headers = { origin, "content-type": "application/json" };
  const start = await jar.fetch(`${origin}/auth/login/start`, { method: "POST", headers, body: "{}" });
  if (start.status !== 200) throw new Error(`login/start answered ${start.status}`);
  const { authorizationUrl } = await start.json();
  const callback = await loginAtIdp(jar, authorizationUrl, {
    username: user,
    password: user,
    callbackPrefix: `${origin}/callback`,
  });
  const end = await jar.fetch(`${origin}/auth/login/end`, {
    method: "POST",
    headers,
    body: JSON.stringify({ pageUrl: callback }),
  });
  if (end.status !== 200) throw new Error(`login/end answered ${end.status}: ${await end.text()}`);
  return { jar, csrf: (await end.json()).csrf };
}

/**
 * The per-value AES-256-GCM key and nonce of format 2: HKDF-SHA256-Expand with the configured
 * key as the PRK and `edgeward/cookie/2` ‖ salt as the info (RFC 5869 §2.3), 44 bytes.
 */
function valueKey(salt) {
  const prk = Buffer.from(COOKIE_KEYS.split(":")[1], "hex");
  const info = Buffer.concat([Buffer.from("edgeward/cookie/2"), salt]);
  const t1 = createHmac("sha256", prk).update(Buffer.concat([info, Buffer.from([1])])).digest();
  const t2 = createHmac("sha256", prk).update(Buffer.concat([t1, info, Buffer.from([2])])).digest();
  const okm = Buffer.concat([t1, t2]);
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32, 44) };
}

/** The associated data of a format-2 value: key id, deployment (origin and client id), name. */
const aad = (kid, name, origin) => Buffer.from(`edgeward/2/${kid}/${origin} edgeward/${name}`);

/** Opens one of our sealed cookies with the test run's key (what only the worker can do). */
export function openCookie(name, sealed, origin = ORIGIN) {
  const [version, kid, payload] = sealed.split(".");
  const keyId = COOKIE_KEYS.split(":")[0];
  if (version !== "2") throw new Error(`format ${version}, not 2`);
  if (kid !== keyId) throw new Error(`sealed with key ${kid}, not ${keyId}`);
  const bytes = Buffer.from(payload, "base64url");
  const salt = bytes.subarray(0, 16);
  const { key, nonce } = valueKey(salt);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(aad(kid, name, origin));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  const plain = Buffer.concat([decipher.update(bytes.subarray(16, bytes.length - 16)), decipher.final()]);
  return JSON.parse(plain.toString()).v;
}

/** Seals `value` as the worker would (with the test run's key): to forge cookies in tests. */
export function sealCookie(name, value, exp, origin = ORIGIN) {
  const kid = COOKIE_KEYS.split(":")[0];
  const salt = randomBytes(16);
  const { key, nonce } = valueKey(salt);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad(kid, name, origin));
  const body = Buffer.concat([cipher.update(JSON.stringify({ exp, v: value })), cipher.final()]);
  return `2.${kid}.${Buffer.concat([salt, body, cipher.getAuthTag()]).toString("base64url")}`;
}
