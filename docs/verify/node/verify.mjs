// Verify a wxlogin access token in another Node service, then ask wxlogin whether it is
// still active. Node 20+ (its fetch) and jose, pinned in package.json:
//
//   npm ci
//   WXLOGIN_URL=https://login.internal WXLOGIN_AUDIENCE=wx0123456789abcdef \
//   INTROSPECTION_CLIENT_ID=orders INTROSPECTION_CLIENT_SECRET=... \
//   node verify.mjs "$ACCESS_TOKEN"
//
// The token is the first argument, or ACCESS_TOKEN when there is none. Exit status: 0 verified
// and active; 1 refused (signature, issuer, audience, expiry, token type) or any other error;
// 2 a setting is missing; 3 verified here, but wxlogin says it is no longer active (logged out,
// revoked, its user disabled).

import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";

const ISSUER = "wxlogin"; // every token's iss
const LEEWAY = 30; // seconds of clock skew between hosts, as wxlogin itself allows
const SETTINGS = ["WXLOGIN_URL", "WXLOGIN_AUDIENCE", "INTROSPECTION_CLIENT_ID", "INTROSPECTION_CLIENT_SECRET"];

class Refused extends Error {}

// The claims of `token` once its signature (by the JWKS key its kid names), iss, aud, exp
// and nbf check out; throws Refused otherwise.
async function verify(token, jwks, audience) {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, jwks, {
      algorithms: ["ES256"], // only ES256: never "none", never HS256 with the public key
      issuer: ISSUER,
      audience,
      clockTolerance: LEEWAY,
      requiredClaims: ["exp", "sub"],
    }));
  } catch (error) {
    // wxlogin not answering (or answering garbage) is not the token's fault.
    const unreachable = error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid;
    if (unreachable || !(error instanceof errors.JOSEError)) throw error;
    throw new Refused(`${error.code}: ${error.message}`);
  }
  // A refresh token is signed by the same key for the same audience: accept access tokens only.
  if (payload.type !== "access") {
    throw new Refused(`not an access token (type ${JSON.stringify(payload.type)})`);
  }
  return payload;
}

// RFC 7662: wxlogin's own answer, which sees logouts and revocations at once.
async function introspect(base, token, clientId, clientSecret) {
  const response = await fetch(`${base}/oauth/introspect`, {
    method: "POST",
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}` },
    body: new URLSearchParams({ token }), // sent as application/x-www-form-urlencoded
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) { // 401: the client id or secret is wrong
    throw new Error(`introspection answered HTTP ${response.status}`);
  }
  return response.json();
}

async function main() {
  const missing = SETTINGS.filter((name) => !process.env[name]);
  const token = process.argv[2] || process.env.ACCESS_TOKEN;
  if (missing.length || !token) {
    console.error(`usage: verify.mjs ACCESS_TOKEN, with ${SETTINGS.join(", ")} set`
      + ` (missing: ${missing.join(", ") || "the token"})`);
    return 2;
  }
  const [base, audience, clientId, clientSecret] = SETTINGS.map((name) => process.env[name]);
  const url = base.replace(/\/+$/, "");

  // Make one per process and keep it: it caches the keys (300 s, as the JWKS's Cache-Control
  // says) and fetches them again for a kid it has not seen (a rotated key).
  const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`), {
    cacheMaxAge: 300_000,
    timeoutDuration: 5000,
  });
  let claims;
  try {
    claims = await verify(token, jwks, audience);
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    console.error(`token refused: ${error.message}`);
    return 1;
  }
  const { kid } = decodeProtectedHeader(token);
  const expires = new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  console.log(`token verified (kid ${kid}), expires ${expires}`);
  console.log(`sub: ${claims.sub}`);

  const answer = await introspect(url, token, clientId, clientSecret);
  console.log(`active: ${answer.active === true}`);
  if (answer.active !== true) {
    console.error("wxlogin says the token is no longer active (logged out, revoked, or its user disabled)");
    return 3;
  }
  return 0;
}

main().then(
  (status) => { process.exitCode = status; },
  (error) => { console.error(`error: ${error.message}`); process.exitCode = 1; },
);
