// Who is signed in. Holds the session (token in `api/session.ts`, user from `/auth/me`),
// signs in, registers and signs out, and sends the user to sign-in with a message when the
// server stops accepting the token (any 401).

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import * as ep from '@/api/endpoints';
import { keys, useMe } from '@/api/queries';
import { endSession, getToken, onSessionEnd, setToken, tokenExpiry, type SessionEndReason } from '@/api/session';
import type { Credentials, User } from '@/api/types';

export const EXPIRED_MESSAGE = 'Your session has expired. Please sign in again.';

interface AuthValue {
  /** Whether a token is held. Read this, not the session module: it changes in the same
   * render as `endReason`, so a redirect never sees one without the other. */
  signedIn: boolean;
  user: User | null;
  /** True while a stored token is being checked against the server. */
  loading: boolean;
  isAdmin: boolean;
  /** Why the last session ended, for the sign-in page's message. */
  endReason: SessionEndReason | null;
  signIn: (c: Credentials) => Promise<void>;
  register: (c: Credentials) => Promise<void>;
  signOut: () => void;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [endReason, setEndReason] = useState<SessionEndReason | null>(null);
  const me = useMe(!!token);

  // The redirect itself is RequireAuth's: it sees the token gone and says why.
  useEffect(
    () =>
      onSessionEnd((reason) => {
        setEndReason(reason);
        setTokenState(null);
        qc.clear();
      }),
    [qc],
  );

  // A token that expires while the app is open ends the session at that moment, not at the
  // next failing call.
  useEffect(() => {
    if (!token) return;
    const exp = tokenExpiry(token);
    if (!exp) return;
    const ms = exp * 1000 - Date.now();
    if (ms <= 0) {
      endSession('expired');
      return;
    }
    const t = setTimeout(() => endSession('expired'), Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [token]);

  const signIn = useCallback(
    async (c: Credentials) => {
      const res = await ep.auth.login(c);
      setToken(res.access_token);
      qc.removeQueries({ queryKey: keys.me });
      setTokenState(res.access_token);
    },
    [qc],
  );

  const register = useCallback(
    async (c: Credentials) => {
      await ep.auth.register(c);
      await signIn(c);
    },
    [signIn],
  );

  const signOut = useCallback(() => endSession('signed_out'), []);

  const value = useMemo<AuthValue>(
    () => ({
      signedIn: !!token,
      user: token ? (me.data ?? null) : null,
      loading: !!token && me.isPending,
      isAdmin: me.data?.role === 'admin',
      endReason,
      signIn,
      register,
      signOut,
    }),
    [token, me.data, me.isPending, endReason, signIn, register, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth must be used inside <AuthProvider>');
  return v;
}
