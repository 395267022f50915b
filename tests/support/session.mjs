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
 * The per-value AES-256-GCM key and nonce: HKDF-SHA256-Expand with the configured key as the PRK
 * and `edgeward/cookie/<format>` ‖ salt as the info (RFC 5869 §2.3), 44 bytes.
 */
function valueKey(format, salt) {
  const prk = Buffer.from(COOKIE_KEYS.split(":")[1], "hex");
  const info = Buffer.concat([Buffer.from(`edgeward/cookie/${format}`), salt]);
  const t1 = createHmac("sha256", prk).update(Buffer.concat([info, Buffer.from([1])])).digest();
  const t2 = createHmac("sha256", prk).update(Buffer.concat([t1, info, Buffer.from([2])])).digest();
  const okm = Buffer.concat([t1, t2]);
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32, 44) };
}

/**
 * The associated data: format, key id, deployment (origin and client id), name, and for format 3
 * the clear label (tag and expiry).
 */
const aad = (format, kid, name, origin, label) =>
  Buffer.from(`edgeward/${format}/${kid}/${origin} edgeward/${name}${label ? `/${label.tag}/${label.exp}` : ""}`);

/**
 * Opens one of our sealed cookies with the test run's key (what only the worker can do): format 3
 * (`3.<kid>.<tag>.<exp>.<payload>`) and the release before's format 2.
 */
export function openCookie(name, sealed, origin = ORIGIN) {
  const version = sealed.split(".")[0];
  let kid, payload, label;
  if (version === "3") {
    const [, k, tag, exp, rest] = sealed.match(/^3\.([^.]*)\.([^.]*)\.([^.]*)\.(.*)$/) ?? [];
    [kid, payload, label] = [k, rest, { tag, exp }];
  } else if (version === "2") {
    [, kid, payload] = sealed.split(".");
  } else {
    throw new Error(`format ${version}, not 3 or 2`);
  }
  const keyId = COOKIE_KEYS.split(":")[0];
  if (kid !== keyId) throw new Error(`sealed with key ${kid}, not ${keyId}`);
  const bytes = Buffer.from(payload, "base64url");
  const salt = bytes.subarray(0, 16);
  const { key, nonce } = valueKey(version, salt);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(aad(version, kid, name, origin, label));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  const plain = JSON.parse(
    Buffer.concat([decipher.update(bytes.subarray(16, bytes.length - 16)), decipher.final()]).toString(),
  );
  return version === "3" ? plain : plain.v;
}

/**
 * Seals `value` as the worker would (with the test run's key), in format 3 with `tag` in its
 * label: to forge cookies in tests.
 */
export function sealCookie(name, value, exp, origin = ORIGIN, tag = "") {
  const kid = COOKIE_KEYS.split(":")[0];
  const salt = randomBytes(16);
  const { key, nonce } = valueKey("3", salt);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad("3", kid, name, origin, { tag, exp }));
  const body = Buffer.concat([cipher.update(JSON.stringify(value)), cipher.final()]);
  return `3.${kid}.${tag}.${exp}.${Buffer.concat([salt, body, cipher.getAuthTag()]).toString("base64url")}`;
}
