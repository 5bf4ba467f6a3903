// The reference client's page: login, the profile and projects from the
// resource-service, the sessions panel. Every call goes through auth-client.js.
// Text from the servers is only ever set as textContent, never as HTML.

import { createAuthClient, AuthError, SessionEndedError } from './auth-client.js';

export const resourceUrl = document
  .querySelector('meta[name="resource-url"]')
  .content.replace(/\/+$/, '');
// DPoP proofs name the auth-service by its issuer URL, whichever of its
// allowed origins the page was opened at.
export const auth = createAuthClient({
  issuer: document.querySelector('meta[name="auth-issuer"]')?.content,
});

const $ = (id) => document.getElementById(id);

function showMessage(text, kind = 'info') {
  const box = $('message');
  box.textContent = text ?? '';
  box.className = kind;
  box.hidden = !text;
}

function describe(error) {
  if (error instanceof AuthError) {
    switch (error.code) {
      case 'invalid_credentials':
        return 'Wrong email or password.';
      case 'too_many_attempts':
        return `Too many failed attempts. Try again in ${error.retryAfter ?? 'a few'} seconds.`;
      case 'weak_password':
        return 'Choose a password of 8 to 72 bytes that is not a commonly used one.';
      case 'invalid_email':
        return 'That is not an email address.';
      case 'email_taken':
        return 'An account with this email exists already: log in.';
      default:
        return error.message;
    }
  }
  return `Something went wrong: ${error.message}`;
}

/** Runs a user action; a lost session is shown by the subscription. */
async function act(work) {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof SessionEndedError)) showMessage(describe(error), 'error');
  }
}

async function json(response, what) {
  if (response.ok) return response.status === 204 ? null : response.json();
  const body = await response.json().catch(() => ({}));
  throw new AuthError(response.status, body.error, body.error_description || `${what} failed`);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function button(text, onClick, className) {
  const node = element('button', text, className);
  node.type = 'button';
  node.addEventListener('click', () => act(onClick));
  return node;
}

// --- resource-service ---

export async function loadProfile() {
  const me = await json(await auth.fetch(`${resourceUrl}/api/me`), 'Loading the profile');
  const list = $('profile');
  list.replaceChildren();
  for (const [key, value] of Object.entries({
    email: me.email,
    role: me.role,
    user: me.sub,
    session: me.sid,
    'token expires': new Date(me.exp).toLocaleTimeString(),
  })) {
    list.append(element('dt', key), element('dd', String(value)));
  }
  return me;
}

export async function loadProjects() {
  const projects = await json(await auth.fetch(`${resourceUrl}/api/projects`), 'Loading projects');
  const list = $('projects');
  list.replaceChildren();
  if (projects.length === 0) list.append(element('li', 'No projects yet.', 'muted'));
  for (const project of projects) {
    const item = element('li');
    item.dataset.id = project.id;
    const mine = project.owner === auth.user?.id;
    item.append(element('span', `${project.name}${mine ? ' (yours)' : ''}`));
    // The resource-service enforces the role; hiding the button only spares
    // users a click that would fail.
    if (auth.user?.role === 'admin') {
      item.append(button('Delete', () => deleteProject(project.id), 'danger'));
    }
    list.append(item);
  }
  return projects;
}

export async function createProject(name) {
  const response = await auth.fetch(`${resourceUrl}/api/projects`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const project = await json(response, 'Creating the project');
  await loadProjects();
  return project;
}

export async function deleteProject(id) {
  const response = await auth.fetch(`${resourceUrl}/api/projects/${encodeURIComponent(id)}`, {
    method: 'DELETE',
  });
  if (response.status === 403) {
    showMessage('Only admins can delete projects.', 'error');
  } else if (response.status === 404) {
    showMessage('That project was deleted already.', 'info');
  } else {
    await json(response, 'Deleting the project');
  }
  await loadProjects();
  return response.status;
}

// --- auth-service sessions ---

/** Why a session ended, in words (API.md §2 "Session history"). */
export const END_REASONS = {
  logout: 'ended: logged out',
  revoked: 'ended: closed from another session, or by an administrator',
  reuse_detected: 'ended: a refresh token was used twice, so the session was closed to protect you',
  password_changed: 'ended: the password was changed in another session',
  expired: 'ended: it expired',
};

const reasonInWords = (reason) => END_REASONS[reason] ?? `ended: ${reason}`;

// The session this tab last had. The answer to a failed refresh says
// nothing of why (it tells a token holder nothing), so the page asks the
// history once it is logged in again.
let lastSessionId = null;

function explainPreviousSession(sessions) {
  const current = sessions.find((s) => s.current);
  const previous = lastSessionId;
  lastSessionId = current?.id ?? lastSessionId;
  if (!previous || previous === current?.id) return;
  const ended = sessions.find((s) => s.id === previous && s.end_reason);
  // Logging out is the user's own act: nothing to explain.
  if (ended && ended.end_reason !== 'logout') {
    showMessage(`Your previous session ${reasonInWords(ended.end_reason)}.`);
  }
}

export async function loadSessions() {
  const all = await json(await auth.fetch('/auth/sessions?state=all'), 'Loading sessions');
  const sessions = all.filter((s) => !s.end_reason);
  const list = $('sessions');
  list.replaceChildren();
  for (const session of sessions) {
    const item = element('li');
    item.dataset.id = session.id;
    const where = [session.user_agent ?? 'unknown client', session.ip].filter(Boolean).join(' · ');
    const label = element('span', `${where}, last used ${new Date(session.last_used_at).toLocaleString()}`);
    if (session.current) label.append(element('strong', ' (this session)'));
    item.append(label, button('Revoke', () => revokeSession(session), 'secondary'));
    list.append(item);
  }
  const ended = $('ended-sessions');
  ended.replaceChildren();
  for (const session of all.filter((s) => s.end_reason)) {
    const item = element('li', undefined, 'muted');
    item.dataset.id = session.id;
    const where = [session.user_agent ?? 'unknown client', session.ip].filter(Boolean).join(' · ');
    const when = new Date(session.ended_at).toLocaleString();
    item.append(element('span', `${where}, ${reasonInWords(session.end_reason)} (${when})`));
    ended.append(item);
  }
  $('ended-heading').hidden = ended.childElementCount === 0;
  explainPreviousSession(all);
  return sessions;
}

async function revokeSession(session) {
  await json(
    await auth.fetch(`/auth/sessions/${encodeURIComponent(session.id)}`, { method: 'DELETE' }),
    'Revoking the session',
  );
  if (session.current) {
    await auth.logout();
    showMessage('You ended this session.');
  } else {
    await loadSessions();
  }
}

// --- page ---

export function loadAll() {
  // Three requests at once: when the token has expired they share one refresh.
  return Promise.all([loadProfile(), loadProjects(), loadSessions()]);
}

function render(state) {
  const loggedIn = state.user !== null;
  $('login-view').hidden = loggedIn;
  $('app-view').hidden = !loggedIn;
  $('whoami').hidden = !loggedIn;
  if (loggedIn) {
    $('user-email').textContent = state.user.email;
    $('user-role').textContent = state.user.role;
  } else {
    $('password').value = '';
    if (state.reason) showMessage(state.reason);
  }
}

let shownUser = null;
auth.subscribe((state) => {
  render(state);
  // A refresh keeps the same user; a login (here or in another tab) loads the page.
  const userId = state.user?.id ?? null;
  if (userId !== shownUser) {
    shownUser = userId;
    if (userId) act(loadAll);
  }
});

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act(async () => {
    showMessage(null);
    await auth.login($('email').value, $('password').value);
  });
});

$('register').addEventListener('click', () => {
  const form = $('login-form');
  if (!form.reportValidity()) return;
  act(async () => {
    showMessage(null);
    await auth.register($('email').value, $('password').value);
    await auth.login($('email').value, $('password').value);
  });
});

$('project-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act(async () => {
    await createProject($('project-name').value);
    $('project-name').value = '';
  });
});

$('reload-profile').addEventListener('click', () => act(loadProfile));
$('logout').addEventListener('click', () => act(() => auth.logout()));
$('logout-all').addEventListener('click', () => act(() => auth.logoutEverywhere()));

const restored = await auth.restore().catch(() => null);
if (!restored) render({ user: null });
document.body.dataset.ready = 'true';
