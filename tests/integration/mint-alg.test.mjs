// Minted tokens in both algorithms (EDGEWARD_MINT_ALG), in workerd: the worker signs with
// WebCrypto (no fallback to Rust in its log), publishes the matching JWK, and the example API
// accepts the token from that JWKS. A configuration whose key does not fit the algorithm (or an
// RSA key under 2,048 bits, or an algorithm not on the list) serves nothing: every request is a
// 500 config_invalid naming the variable, never the key.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { startIdp, startWorker, startExampleApi, ORIGIN } from "../support/stack.mjs";
import { signIn } from "../support/session.mjs";

let idp;
before(async () => {
  idp = await startIdp();
});
after(async () => {
  await idp?.stop();
});

const part = (jwt, i) => JSON.parse(Buffer.from(jwt.split(".")[i], "base64url").toString());
const rsaKey = (bits) =>
  generateKeyPairSync("rsa", { modulusLength: bits }).privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
// One build for every worker of the suite (EDGEWARD_BUILD=dev when iterating).
const env = process.env.EDGEWARD_BUILD ? { EDGEWARD_BUILD: process.env.EDGEWARD_BUILD } : {};

for (const alg of ["ES256", "RS256"]) {
  test(`${alg}: the worker mints with WebCrypto and the API accepts the token from the JWKS`, async () => {
    const vars = alg === "RS256" ? { EDGEWARD_MINT_ALG: "RS256", EDGEWARD_MINT_KEY: `r1:${rsaKey(2048)}` } : {};
    const worker = await startWorker({ runtime: "workerd", vars, env });
    let api;
    try {
      api = await startExampleApi();
      const jwks = await (await fetch(`${ORIGIN}/.well-known/jwks.json`)).json();
      assert.equal(jwks.keys.length, 1);
      const [jwk] = jwks.keys;
      assert.deepEqual([jwk.kty, jwk.alg, jwk.use, jwk.kid], alg === "RS256" ? ["RSA", "RS256", "sig", "r1"] : ["EC", "ES256", "sig", "m1"]);
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) assert.equal(jwk[secret], undefined, `${secret} published`);

      const { jar } = await signIn();
      for (let call = 0; call < 2; call++) {
        const res = await jar.fetch(`${ORIGIN}/api/whoami`, { headers: { "cache-control": "no-cache" } });
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.sub, "demo");
        const jwt = body.request.headers.authorization.replace(/^Bearer /, "");
        assert.equal(part(jwt, 0).alg, alg);
        assert.equal(part(jwt, 0).typ, "at+jwt");
      }
      assert.doesNotMatch(worker.output(), /signing in Rust/, "WebCrypto signed");
    } finally {
      await api?.stop();
      await worker.stop();
    }
  });
}

test("a key that does not fit the algorithm, or too short an RSA key, is a config error naming the variable", async () => {
  const ecPkcs8 = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
  const cases = [
    [{ EDGEWARD_MINT_KEY: `r1:${rsaKey(2048)}` }, "EDGEWARD_MINT_KEY"],
    [{ EDGEWARD_MINT_ALG: "RS256", EDGEWARD_MINT_KEY: `r1:${rsaKey(1024)}` }, "EDGEWARD_MINT_KEY"],
    [{ EDGEWARD_MINT_ALG: "RS256", EDGEWARD_MINT_KEY: `r1:${ecPkcs8}` }, "EDGEWARD_MINT_KEY"],
    [{ EDGEWARD_MINT_ALG: "HS256" }, "EDGEWARD_MINT_ALG"],
  ];
  for (const [vars, variable] of cases) {
    const worker = await startWorker({ runtime: "workerd", vars, env });
    try {
      for (const path of ["/api/whoami", "/.well-known/jwks.json"]) {
        const res = await fetch(`${ORIGIN}${path}`);
        const body = await res.json();
        assert.equal(res.status, 500, `${variable} ${path}`);
        assert.equal(body.code, "config_invalid");
        assert.match(body.message, new RegExp(variable));
        const secret = vars.EDGEWARD_MINT_KEY?.slice(40, 80);
        if (secret) assert.ok(!body.message.includes(secret), "never the key");
      }
    } finally {
      await worker.stop();
    }
  }
});
