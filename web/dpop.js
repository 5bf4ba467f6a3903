// dpop.js: DPoP proofs (RFC 9449) signed by a key the page cannot give away.
//
// The key pair is ECDSA P-256, made by WebCrypto with `extractable: false`:
// script in the page can ask the browser to sign with it, but no script can
// read the private half, so it cannot be copied elsewhere. It lives in
// IndexedDB, which stores the CryptoKey object itself, so a reload keeps the
// session's binding. Tokens bound to it are useless in another browser or on
// another machine.
//
//   import { createDpop } from './dpop.js';
//   const dpop = createDpop('auth-client');
//   const proof = await dpop.proof('POST', 'https://auth.example.com/auth/refresh');
//   const proof2 = await dpop.proof('GET', 'https://api.example.com/api/me', accessToken);

const STORE = 'keys';
const CURRENT = 'current';

const encoder = new TextEncoder();

function base64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const base64urlJson = (value) => base64url(encoder.encode(JSON.stringify(value)));

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

async function openDatabase(name) {
  const open = indexedDB.open(`${name}:dpop`, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  return request(open);
}

async function readKey(db) {
  return request(db.transaction(STORE, 'readonly').objectStore(STORE).get(CURRENT));
}

async function writeKey(db, record) {
  const tx = db.transaction(STORE, 'readwrite');
  tx.objectStore(STORE).put(record, CURRENT);
  await new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
}

/**
 * Signs one proof (RFC 9449 §4.2) for `method` and the absolute `url` it goes
 * to (query and fragment are left out of `htu`); with `accessToken`, its hash
 * as `ath`, as resource servers require. `jwk` is the public half of
 * `privateKey`, an ECDSA P-256 signing key.
 * @param {{privateKey: CryptoKey, jwk: object}} key
 * @param {string} method
 * @param {string} url
 * @param {string} [accessToken]
 * @returns {Promise<string>}
 */
export async function signProof({ privateKey, jwk }, method, url, accessToken) {
  const target = new URL(url, globalThis.location?.href);
  const claims = {
    jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
    htm: method.toUpperCase(),
    htu: `${target.origin}${target.pathname}`,
    iat: Math.floor(Date.now() / 1000),
  };
  if (accessToken) {
    const digest = await crypto.subtle.digest('SHA-256', encoder.encode(accessToken));
    claims.ath = base64url(new Uint8Array(digest));
  }
  const input = `${base64urlJson({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${base64urlJson(claims)}`;
  // WebCrypto's ECDSA signature is r || s, the form JWS ES256 uses.
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    privateKey,
    encoder.encode(input),
  );
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

/**
 * A new non-extractable ECDSA P-256 key pair, with the public members that
 * go into proofs (those of RFC 7638's thumbprint).
 * @returns {Promise<{privateKey: CryptoKey, jwk: object}>}
 */
export async function generateProofKey() {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ]);
  // A public key is exportable even when the pair is not.
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { kty, crv, x, y } };
}

/** Whether this browser context can hold a non-extractable key (a secure context). */
export function dpopAvailable() {
  return Boolean(globalThis.crypto?.subtle && globalThis.indexedDB);
}

/**
 * Proofs for one client name (the IndexedDB database is `<name>:dpop`).
 * @param {string} name
 */
export function createDpop(name) {
  /** @type {Promise<{privateKey: CryptoKey, jwk: object}> | null} */
  let loading = null;

  async function loadOrCreate() {
    const db = await openDatabase(name);
    const find = async () => {
      const found = await readKey(db);
      if (found) return found;
      const record = await generateProofKey();
      await writeKey(db, record);
      return record;
    };
    try {
      // Two tabs opening at once must end with one key, not one each.
      return globalThis.navigator?.locks
        ? await navigator.locks.request(`${name}:dpop-key`, find)
        : await find();
    } finally {
      db.close();
    }
  }

  function key() {
    loading ??= loadOrCreate().catch((error) => {
      loading = null;
      throw error;
    });
    return loading;
  }

  return {
    /**
     * A proof for one request, signed by this client's stored key (made on
     * first use); see `signProof`.
     * @param {string} method
     * @param {string} url
     * @param {string} [accessToken]
     * @returns {Promise<string>}
     */
    async proof(method, url, accessToken) {
      return signProof(await key(), method, url, accessToken);
    },
  };
}
