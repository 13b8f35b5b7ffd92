// The signed-in session: the bearer token, kept in localStorage so a reload stays signed in,
// and the one place that hears "the server no longer accepts this token". The client calls
// `expireSession` on a 401; the auth feature listens and sends the user to sign-in.

const TOKEN_KEY = 'annotateforge.token';

type Listener = (reason: SessionEndReason) => void;
export type SessionEndReason = 'expired' | 'signed_out';

const listeners = new Set<Listener>();
let memoryToken: string | null = null;

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    // Private modes may forbid storage; the session then lasts until the tab closes.
    return null;
  }
}

export function getToken(): string | null {
  return storage()?.getItem(TOKEN_KEY) ?? memoryToken;
}

export function setToken(token: string): void {
  memoryToken = token;
  storage()?.setItem(TOKEN_KEY, token);
}

function clearToken(): void {
  memoryToken = null;
  storage()?.removeItem(TOKEN_KEY);
}

/** Ends the session and tells every listener why. */
export function endSession(reason: SessionEndReason): void {
  const hadToken = getToken() !== null;
  clearToken();
  // Several calls failing at once with 401 must produce one redirect, not one per call.
  if (hadToken || reason === 'signed_out') listeners.forEach((l) => l(reason));
}

export function onSessionEnd(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The token's expiry (JWT `exp`, seconds since the epoch), if it can be read. */
export function tokenExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: unknown };
    return typeof json.exp === 'number' ? json.exp : null;
  } catch {
    return null;
  }
}
