// The whole flow of the reference client in a real browser (Debian's
// Chromium, driven by playwright-core) against the real services.
//
// auth-service/tests/api/browser.rs starts both services and runs this with:
//   AUTH_URL, RESOURCE_URL   where the services listen
//   USER_EMAIL, ADMIN_EMAIL  existing accounts, both with PASSWORD
//   ACCESS_TTL_SECONDS       the auth-service's ACCESS_TOKEN_TTL (a few seconds)
//   ARTIFACTS_DIR            where the screenshot goes
//   CHROMIUM                 the browser (default /usr/bin/chromium)
// It prints one line per step and exits non-zero at the first failure.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const AUTH_URL = env('AUTH_URL');
const RESOURCE_URL = env('RESOURCE_URL');
const USER_EMAIL = env('USER_EMAIL');
const ADMIN_EMAIL = env('ADMIN_EMAIL');
const PASSWORD = env('PASSWORD');
const TTL_MS = Number(env('ACCESS_TTL_SECONDS')) * 1000;
const ARTIFACTS_DIR = env('ARTIFACTS_DIR');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const pastExpiry = () => sleep(TTL_MS + 1000);

let stepNumber = 0;
async function step(name, work) {
  stepNumber += 1;
  const started = Date.now();
  await work();
  console.log(`ok ${stepNumber} - ${name} (${Date.now() - started} ms)`);
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true,
  // As root in a container Chromium needs --no-sandbox; the network flags
  // keep it from calling home on a machine without Internet access.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

/** A browser profile (cookie jar) that counts its calls to /auth/refresh. */
async function newProfile() {
  const context = await browser.newContext();
  const profile = { context, refreshes: 0, errors: [] };
  context.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/auth/refresh') {
      profile.refreshes += 1;
    }
  });
  return profile;
}

async function openPage(profile) {
  const page = await profile.context.newPage();
  page.on('pageerror', (error) => profile.errors.push(error.message));
  await page.goto(`${AUTH_URL}/`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

async function logIn(page, email) {
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#login');
  await loggedIn(page, email);
}

async function loggedIn(page, email) {
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.locator('#profile dd', { hasText: email }).waitFor();
}

async function showsLoginForm(page) {
  await page.locator('#login-view').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#app-view').isVisible(), false);
}

/** Calls one of app.js's exported functions inside the page. */
function callApp(page, name, ...args) {
  return page.evaluate(
    async ([fn, params]) => {
      const app = await import('/web/app.js');
      return app[fn](...params);
    },
    [name, args],
  );
}

/** `count` resource-service calls at once through the page's client; their statuses. */
function parallelCalls(page, count) {
  return page.evaluate(async (n) => {
    const { auth, resourceUrl } = await import('/web/app.js');
    const responses = await Promise.all(
      Array.from({ length: n }, () => auth.fetch(`${resourceUrl}/api/me`)),
    );
    return responses.map((response) => response.status);
  }, count);
}

const user = await newProfile();
let tab1;
let tab2;

try {
  await step('a visitor without a session sees the login form', async () => {
    tab1 = await openPage(user);
    await showsLoginForm(tab1);
  });

  await step('login shows the profile from the resource-service', async () => {
    await logIn(tab1, USER_EMAIL);
    assert.equal(await tab1.textContent('#user-role'), 'user');
    const profile = await tab1.locator('#profile dd').allTextContents();
    assert.ok(!profile.join(' ').includes('Invalid'), `profile: ${profile}`);
    await tab1.locator('#sessions li', { hasText: 'this session' }).waitFor();
  });

  await step('the refresh token lives only in the HttpOnly cookie, the access token only in memory', async () => {
    const cookies = await user.context.cookies(AUTH_URL + '/auth/refresh');
    const cookie = cookies.find((c) => c.name === 'refresh_token');
    assert.ok(cookie, 'the refresh cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/auth');
    const visible = await tab1.evaluate(() =>
      JSON.stringify({ cookie: document.cookie, local: { ...localStorage }, session: { ...sessionStorage } }),
    );
    assert.ok(!visible.includes(cookie.value), 'the refresh token is out of reach of scripts');
    assert.ok(!visible.includes('eyJ'), `no token in script-readable storage: ${visible}`);
  });

  await step('the session is bound to a key: its tokens copied into another browser are refused by both services', async () => {
    // What a thief takes: the access token off a request, the refresh
    // cookie out of the profile. Without the key, neither is any use.
    const seen = tab1.waitForRequest((request) => request.url().startsWith(`${RESOURCE_URL}/api/me`));
    assert.deepEqual(await parallelCalls(tab1, 1), [200]);
    const headers = await (await seen).allHeaders();
    assert.match(headers.authorization ?? '', /^DPoP ey/, 'the token goes as a DPoP-bound token');
    assert.ok(headers.dpop, 'with a proof');
    const token = headers.authorization.slice('DPoP '.length);
    const cookie = (await user.context.cookies(AUTH_URL + '/auth/refresh')).find((c) => c.name === 'refresh_token');

    const thief = await browser.newContext();
    try {
      await thief.addCookies([cookie]);
      // The page makes a key of its own and tries to resume the session with
      // the stolen cookie: the refresh is refused and it shows the login form.
      const page = await thief.newPage();
      await page.goto(`${AUTH_URL}/`);
      await page.waitForSelector('body[data-ready="true"]');
      await showsLoginForm(page);
      const statuses = await page.evaluate(
        async ([authUrl, resourceUrl, stolen]) => {
          const calls = ['Bearer', 'DPoP'].flatMap((scheme) => [
            fetch(`${resourceUrl}/api/me`, { headers: { authorization: `${scheme} ${stolen}` } }),
            fetch(`${authUrl}/auth/me`, { headers: { authorization: `${scheme} ${stolen}` } }),
          ]);
          calls.push(fetch(`${authUrl}/auth/refresh`, { method: 'POST', credentials: 'same-origin' }));
          return (await Promise.all(calls)).map((response) => response.status);
        },
        [AUTH_URL, RESOURCE_URL, token],
      );
      assert.deepEqual(statuses, [401, 401, 401, 401, 400]);
    } finally {
      await thief.close();
    }
    // Refused attempts use nothing up: the owner's session goes on.
    assert.deepEqual(await parallelCalls(tab1, 1), [200]);
  });

  await step('a user creates a project and is offered no delete button', async () => {
    await tab1.fill('#project-name', 'Apollo');
    await tab1.click('#project-form button[type=submit]');
    await tab1.locator('#projects li', { hasText: 'Apollo (yours)' }).waitFor();
    assert.equal(await tab1.locator('#projects li button', { hasText: 'Delete' }).count(), 0);
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await tab1.screenshot({ path: join(ARTIFACTS_DIR, 'logged-in.png'), fullPage: true });
  });

  await step("a user's delete is refused with 403 and the page says why", async () => {
    const projects = await callApp(tab1, 'loadProjects');
    const status = await callApp(tab1, 'deleteProject', projects[0].id);
    assert.equal(status, 403);
    await tab1.locator('#message', { hasText: 'Only admins can delete projects.' }).waitFor();
    await tab1.locator('#projects li', { hasText: 'Apollo' }).waitFor();
  });

  await step('after expiry an action succeeds through one transparent refresh', async () => {
    await pastExpiry();
    const before = user.refreshes;
    await tab1.fill('#project-name', 'Gemini');
    await tab1.click('#project-form button[type=submit]');
    await tab1.locator('#projects li', { hasText: 'Gemini (yours)' }).waitFor();
    assert.equal(user.refreshes - before, 1);
    await tab1.locator('#app-view').waitFor({ state: 'visible' });
  });

  await step('five parallel actions after expiry make exactly one refresh call', async () => {
    await pastExpiry();
    const before = user.refreshes;
    const statuses = await parallelCalls(tab1, 5);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.equal(user.refreshes - before, 1);
  });

  await step('a token the resource-service refuses is refreshed once and the calls retried', async () => {
    // Another tab announces a token that looks fresh but is not a valid
    // token: the calls meet 401, share one refresh, and succeed on retry.
    await tab1.evaluate(async () => {
      const { auth } = await import('/web/app.js');
      const adopted = new Promise((resolve) => {
        const unsubscribe = auth.subscribe(() => {
          unsubscribe();
          resolve();
        });
      });
      new BroadcastChannel('auth-client').postMessage({
        type: 'session',
        session: { token: 'not-a-token', expiresAt: Date.now() + 600_000, user: auth.user },
      });
      await adopted;
    });
    const before = user.refreshes;
    const statuses = await parallelCalls(tab1, 3);
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(user.refreshes - before, 1);
  });

  await step('a second tab joins the session', async () => {
    tab2 = await openPage(user);
    await loggedIn(tab2, USER_EMAIL);
  });

  await step('two tabs after expiry make one refresh between them and neither is logged out', async () => {
    await pastExpiry();
    const before = user.refreshes;
    const [one, two] = await Promise.all([parallelCalls(tab1, 2), parallelCalls(tab2, 2)]);
    assert.deepEqual([...one, ...two], [200, 200, 200, 200]);
    assert.equal(user.refreshes - before, 1);
    await callApp(tab1, 'loadAll');
    await callApp(tab2, 'loadAll');
    await loggedIn(tab1, USER_EMAIL);
    await loggedIn(tab2, USER_EMAIL);
  });

  await step('logout returns both tabs to the login form', async () => {
    await tab1.click('#logout');
    await showsLoginForm(tab1);
    await showsLoginForm(tab2);
  });

  await step('after logout the next action lands on the login form', async () => {
    const outcome = await tab2.evaluate(async () => {
      const { auth, resourceUrl } = await import('/web/app.js');
      try {
        await auth.fetch(`${resourceUrl}/api/me`);
        return 'sent';
      } catch (error) {
        return error.name;
      }
    });
    assert.equal(outcome, 'SessionEndedError');
    await tab1.reload();
    await tab1.waitForSelector('body[data-ready="true"]');
    await showsLoginForm(tab1);
    const cookies = await user.context.cookies(AUTH_URL + '/auth/refresh');
    assert.equal(cookies.find((c) => c.name === 'refresh_token'), undefined, 'the cookie is cleared');
  });

  await step('when the session is revoked elsewhere, the next refresh fails and shows the login form with a message', async () => {
    await logIn(tab1, USER_EMAIL);
    await loggedIn(tab2, USER_EMAIL);
    const elsewhere = await newProfile();
    const other = await openPage(elsewhere);
    await logIn(other, USER_EMAIL);
    await other.click('#logout-all');
    await showsLoginForm(other);
    await elsewhere.context.close();

    await pastExpiry();
    await tab1.click('#reload-profile');
    await showsLoginForm(tab1);
    await tab1.locator('#message', { hasText: 'Your session has ended' }).waitFor();
    await showsLoginForm(tab2);
  });

  await step('an admin sees delete buttons and deletes a project', async () => {
    const admin = await newProfile();
    const page = await openPage(admin);
    await logIn(page, ADMIN_EMAIL);
    assert.equal(await page.textContent('#user-role'), 'admin');
    const apollo = page.locator('#projects li', { hasText: 'Apollo' });
    await apollo.locator('button', { hasText: 'Delete' }).click();
    await apollo.waitFor({ state: 'detached' });
    await page.locator('#projects li', { hasText: 'Gemini' }).waitFor();
    assert.deepEqual(admin.errors, []);
    await admin.context.close();
  });

  await step('the session panel revokes another session', async () => {
    const second = await newProfile();
    await logIn(await openPage(second), USER_EMAIL);
    await logIn(tab1, USER_EMAIL);
    // This session and the second profile's.
    await tab1.locator('#sessions li').nth(1).waitFor();
    const others = tab1.locator('#sessions li', { hasNotText: 'this session' });
    const count = await others.count();
    await others.first().locator('button', { hasText: 'Revoke' }).click();
    await tab1.waitForFunction(
      (expected) =>
        document.querySelectorAll('#sessions li').length - 1 === expected,
      count - 1,
    );
    await second.context.close();
  });

  await step('a refresh token used twice ends the session, and after the next login the page says why', async () => {
    // The page's refresh token presented twice with the session's own key
    // (without the key it would be refused before anything else: see the
    // DPoP step): the second time is reuse, and the server closes the session.
    const cookies = await user.context.cookies(AUTH_URL + '/auth/refresh');
    const stolen = cookies.find((c) => c.name === 'refresh_token').value;
    const statuses = await tab1.evaluate(async (token) => {
      const { createDpop } = await import('/web/dpop.js');
      const dpop = createDpop('auth-client');
      const present = async () => {
        // A proof names the auth-service by its issuer, as the client does.
        const issuer = document.querySelector('meta[name="auth-issuer"]').content;
        const proof = await dpop.proof('POST', `${issuer}/auth/refresh`);
        const response = await fetch('/auth/refresh', {
          method: 'POST',
          credentials: 'omit',
          headers: { 'content-type': 'application/json', dpop: proof },
          body: JSON.stringify({ refresh_token: token }),
        });
        return response.status;
      };
      return [await present(), await present()];
    }, stolen);
    assert.deepEqual(statuses, [200, 401]);

    await pastExpiry();
    await tab1.click('#reload-profile');
    await showsLoginForm(tab1);
    await tab1.locator('#message', { hasText: 'Your session has ended' }).waitFor();

    await logIn(tab1, USER_EMAIL);
    const why = 'a refresh token was used twice, so the session was closed to protect you';
    await tab1.locator('#message', { hasText: `Your previous session ended: ${why}` }).waitFor();
    await tab1.locator('#ended-sessions li', { hasText: why }).first().waitFor();
    await tab1.screenshot({ path: join(ARTIFACTS_DIR, 'session-ended-why.png'), fullPage: true });
  });

  assert.deepEqual(user.errors, [], 'no uncaught errors in the pages');
} catch (error) {
  console.error(`not ok ${stepNumber} - ${error.stack ?? error}`);
  if (tab1) {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await tab1.screenshot({ path: join(ARTIFACTS_DIR, 'failure.png'), fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
