// A DPoP-bound login and call, the whole exchange in one short script
// (Node.js 20 or later; no packages: WebCrypto is built in).
//
//   node web/examples/dpop-call.mjs http://127.0.0.1:8080 http://127.0.0.1:8081 ada@example.com 'a long password'
//
// It makes a key pair that cannot be exported, logs in with a proof (the
// tokens come back bound to the key: token_type "DPoP"), calls the
// resource-service with the token and a fresh proof, then shows that the
// same token presented as a plain Bearer token is refused.

import { generateProofKey, signProof } from '../dpop.js';

const [authUrl, resourceUrl, email, password] = process.argv.slice(2);
if (!password) {
  console.error('usage: node dpop-call.mjs AUTH_URL RESOURCE_URL EMAIL PASSWORD');
  process.exit(2);
}

const key = await generateProofKey();

// AUTH_URL must be the auth-service's AUTH_ISSUER: the proof names the URL it is for.
const loginUrl = `${authUrl}/auth/login`;
const login = await fetch(loginUrl, {
  method: 'POST',
  headers: { 'content-type': 'application/json', dpop: await signProof(key, 'POST', loginUrl) },
  body: JSON.stringify({ email, password }),
});
const tokens = await login.json();
if (!login.ok) throw new Error(`login: ${login.status} ${JSON.stringify(tokens)}`);
console.log(`login: ${login.status}, token_type ${tokens.token_type}`);

const meUrl = `${resourceUrl}/api/me`;
const me = await fetch(meUrl, {
  headers: {
    authorization: `DPoP ${tokens.access_token}`,
    dpop: await signProof(key, 'GET', meUrl, tokens.access_token),
  },
});
console.log(`GET /api/me with the token and a proof: ${me.status} ${await me.text()}`);

const stolen = await fetch(meUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
console.log(`GET /api/me with the token alone: ${stolen.status} ${stolen.headers.get('www-authenticate')}`);
process.exitCode = me.status === 200 && stolen.status === 401 ? 0 : 1;
