// auth-client.js: a fetch wrapper for a browser front end of the auth-service.
//
// It keeps the access token in memory only and leaves the refresh token in
// the auth-service's HttpOnly cookie, where no script (and so no XSS) can
// read it. It refreshes once for many callers (single flight), serialises
// refreshes across the tabs of one browser with the Web Locks API so two tabs
// never present the same refresh token, and shares the new access token with
// the other tabs over a BroadcastChannel (memory to memory, never storage).
// It binds the session to a key the browser will not export (DPoP, RFC 9449,
// see dpop.js): a copied access token or refresh cookie is refused without it.
//
// No dependencies and no build step: copy this file and dpop.js into a front end.
//
//   import { createAuthClient } from './auth-client.js';
//   const auth = createAuthClient();                  // same origin as the auth-service
//   auth.subscribe((state) => render(state));        // {user} or {user: null, reason}
//   await auth.restore();                             // resume a session after a reload
//   await auth.login(email, password);
//   const res = await auth.fetch('https://api.example.com/api/me');  // token and proof added, 401 retried once
//   await auth.logout();

import { createDpop, dpopAvailable } from './dpop.js';

/** How long before its expiry an access token is treated as expired, in ms. */
const EXPIRY_MARGIN_MS = 1000;
/** How long to wait for another tab to answer "who has a fresh token?", in ms. */
const PEER_WAIT_MS = 150;

/** The session is over: the refresh token was refused, or the user logged out. */
export class SessionEndedError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SessionEndedError';
  }
}

/** An answer of the auth-service other than success, with its `error` code. */
export class AuthError extends Error {
  constructor(status, code, description, retryAfter = null) {
    super(description || code || `HTTP ${status}`);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    /** Seconds to wait (the Retry-After header of a 429 or 503), or null. */
    this.retryAfter = retryAfter;
  }
}

/**
 * @typedef {{id: string, email: string, role: string}} User
 * @typedef {{token: string, tokenType: string, expiresAt: number, user: User}} Session
 * @typedef {{user: User | null, reason?: string}} AuthState
 *
 * @param {object} [options]
 * @param {string} [options.authBase] where the auth-service is: '' for this
 *   page's origin (the refresh cookie is SameSite=Strict, Path=/auth, so the
 *   page must be served by the auth-service's origin)
 * @param {string} [options.name] the lock and channel name, for two clients
 *   on one origin
 * @param {(input: RequestInfo, init?: RequestInit) => Promise<Response>} [options.fetch]
 * @param {boolean} [options.dpop] bind the session to a non-extractable key
 *   (default: wherever the browser can hold one, i.e. in a secure context)
 */
export function createAuthClient(options = {}) {
  const authBase = options.authBase ?? '';
  const name = options.name ?? 'auth-client';
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const dpop = (options.dpop ?? dpopAvailable()) ? createDpop(name) : null;

  /** @type {Session | null} */
  let session = null;
  /** This tab's refresh in flight: every caller awaits the same one. */
  let refreshing = null;
  const subscribers = new Set();
  const peerWaiters = new Set();
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : null;

  const fresh = (s) => s !== null && s.expiresAt - EXPIRY_MARGIN_MS > Date.now();

  function notify(reason) {
    const state = session ? { user: session.user } : { user: null, reason };
    for (const subscriber of subscribers) subscriber(state);
  }

  function adopt(next, { broadcast }) {
    session = next;
    if (broadcast && channel) {
      channel.postMessage(
        next ? { type: 'session', session: next } : { type: 'ended', reason: 'You have logged out.' },
      );
    }
    notify(next ? undefined : 'You have logged out.');
  }

  if (channel) {
    channel.onmessage = ({ data }) => {
      if (data?.type === 'session' && fresh(data.session)) {
        for (const waiter of peerWaiters) waiter(data.session);
        if (!session || data.session.expiresAt > session.expiresAt) {
          session = data.session;
          notify();
        }
      } else if (data?.type === 'ended' && session) {
        session = null;
        notify(data.reason);
      } else if (data?.type === 'ask' && fresh(session) && session.token !== data.stale) {
        channel.postMessage({ type: 'session', session });
      }
    };
  }

  /** Another tab's fresh token, if one answers within PEER_WAIT_MS. */
  function askPeers(stale) {
    if (!channel) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (found) => {
        peerWaiters.delete(waiter);
        clearTimeout(timer);
        resolve(found);
      };
      const waiter = (candidate) => {
        if (candidate.token !== stale) done(candidate);
      };
      const timer = setTimeout(() => done(null), PEER_WAIT_MS);
      peerWaiters.add(waiter);
      channel.postMessage({ type: 'ask', stale });
    });
  }

  function withRefreshLock(work) {
    // Without Web Locks (an insecure context) a tab still refreshes once for
    // all its own callers; only the cross-tab serialisation is lost.
    return globalThis.navigator?.locks
      ? navigator.locks.request(`${name}:refresh`, work)
      : work();
  }

  function toSession(body) {
    // The body also carries the refresh token: it is dropped on purpose, the
    // cookie is its only home.
    return {
      token: body.access_token,
      tokenType: body.token_type ?? 'Bearer',
      expiresAt: Date.now() + body.expires_in * 1000,
      user: body.user,
    };
  }

  async function failure(response) {
    const body = await response.json().catch(() => ({}));
    return new AuthError(
      response.status,
      body.error,
      body.error_description,
      response.headers.get('retry-after'),
    );
  }

  /** Headers of a token request: a proof, so that the tokens come bound. */
  async function tokenRequestHeaders(path, headers = {}) {
    return dpop ? { ...headers, dpop: await dpop.proof('POST', `${authBase}${path}`) } : headers;
  }

  /** `Authorization` (and for a bound token its proof) for one request. */
  async function authorize(headers, current, method, url) {
    if (current.tokenType === 'DPoP' && dpop) {
      headers.set('authorization', `DPoP ${current.token}`);
      headers.set('dpop', await dpop.proof(method, url, current.token));
    } else {
      headers.set('authorization', `Bearer ${current.token}`);
    }
  }

  /**
   * One refresh for every caller of this tab, serialised with other tabs.
   * `stale` is the token that was found expired or refused (null if none).
   * @returns {Promise<Session>}
   */
  function refresh(stale) {
    refreshing ??= withRefreshLock(async () => {
      // While this tab waited for the lock another tab may have refreshed:
      // its token arrives over the channel, and using it spares a refresh
      // (presenting the rotated cookie again would be a second rotation).
      if (fresh(session) && session.token !== stale) return session;
      const peer = await askPeers(stale);
      if (peer) {
        adopt(peer, { broadcast: false });
        return peer;
      }
      const response = await send(`${authBase}/auth/refresh`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: await tokenRequestHeaders('/auth/refresh'),
      });
      if (!response.ok) {
        const error = await failure(response);
        const wasLoggedIn = session !== null || stale !== null;
        session = null;
        if (wasLoggedIn) {
          const reason = 'Your session has ended. Please log in again.';
          channel?.postMessage({ type: 'ended', reason });
          notify(reason);
        }
        throw new SessionEndedError(error.message);
      }
      const next = toSession(await response.json());
      adopt(next, { broadcast: true });
      return next;
    }).finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  return {
    /** The user of the current session, or null. */
    get user() {
      return session?.user ?? null;
    },

    /**
     * Calls `callback(state)` on every login, logout, refresh or session end,
     * in this tab or another. Returns the function that unsubscribes.
     * @param {(state: AuthState) => void} callback
     */
    subscribe(callback) {
      subscribers.add(callback);
      return () => subscribers.delete(callback);
    },

    /**
     * Resumes a session after a page load: takes a fresh token from another
     * tab, or refreshes with the cookie. Resolves to the user, or null when
     * there is no session to resume.
     * @returns {Promise<User | null>}
     */
    async restore() {
      try {
        return (await refresh(null)).user;
      } catch (error) {
        if (error instanceof SessionEndedError) return null;
        throw error;
      }
    },

    /**
     * Logs in; the auth-service sets the refresh cookie.
     * Rejects with an AuthError (`invalid_credentials`, `too_many_attempts`, ...).
     * @returns {Promise<User>}
     */
    async login(email, password) {
      const response = await send(`${authBase}/auth/login`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: await tokenRequestHeaders('/auth/login', { 'content-type': 'application/json' }),
        body: JSON.stringify({ email, password }),
      });
      if (!response.ok) throw await failure(response);
      adopt(toSession(await response.json()), { broadcast: true });
      return session.user;
    },

    /** Creates an account (it does not log in). Rejects with an AuthError. */
    async register(email, password) {
      const response = await send(`${authBase}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      if (!response.ok) throw await failure(response);
      return response.json();
    },

    /**
     * `fetch` with the access token (`Authorization: Bearer <token>`, or
     * `DPoP <token>` and a fresh proof for a bound one). An expired token is
     * refreshed first; a 401 is answered by one refresh and one retry, so the
     * request body must be re-sendable (a string, FormData, Blob, ...).
     * Rejects with SessionEndedError when the session cannot be refreshed.
     * @param {RequestInfo} input
     * @param {RequestInit} [init]
     * @returns {Promise<Response>}
     */
    async fetch(input, init = {}) {
      const method = init.method ?? (input instanceof Request ? input.method : 'GET');
      const url = input instanceof Request ? input.url : String(input);
      const call = async (current) => {
        const headers = new Headers(init.headers);
        // Each try its own proof: a proof's jti is accepted once.
        await authorize(headers, current, method, url);
        return send(input, { ...init, headers });
      };
      let current = fresh(session) ? session : await refresh(session?.token ?? null);
      const response = await call(current);
      if (response.status !== 401) return response;
      current = await refresh(current.token);
      return call(current);
    },

    /** Ends this session (the cookie is cleared) in every tab. */
    async logout() {
      try {
        await send(`${authBase}/auth/logout`, { method: 'POST', credentials: 'same-origin' });
      } finally {
        adopt(null, { broadcast: true });
      }
    },

    /** Ends every session of the user, on every device. */
    async logoutEverywhere() {
      const response = await this.fetch(`${authBase}/auth/logout-all`, { method: 'POST' });
      if (!response.ok) throw await failure(response);
      // The session behind the cookie is revoked now; logging out clears the
      // cookie and tells the other tabs.
      await this.logout();
    },
  };
}
