import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { Alert, Box } from '@mui/material';
import { LoadingState } from '@/components/LoadingState';
import { ErrorState } from '@/components/ErrorState';
import { useMe } from '@/api/queries';
import { EXPIRED_MESSAGE, useAuth } from './AuthProvider';

/** Renders its children for a signed-in user; otherwise sends them to sign-in and back. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { signedIn, user, loading, endReason } = useAuth();
  const location = useLocation();
  const me = useMe(signedIn);
  if (!signedIn) {
    const state =
      endReason === 'expired'
        ? { from: location.pathname + location.search, message: EXPIRED_MESSAGE }
        : endReason === 'signed_out'
          ? { message: 'You have signed out.' }
          : { from: location.pathname + location.search };
    return <Navigate to="/sign-in" replace state={state} />;
  }
  if (loading) return <LoadingState label="Signing you in…" minHeight={400} />;
  if (!user)
    return (
      <Box sx={{ p: 4 }}>
        <ErrorState error={me.error} title="Could not load your account" onRetry={() => me.refetch()} />
      </Box>
    );
  return <>{children}</>;
}

/** Renders its children for admins only. */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const { isAdmin } = useAuth();
  if (!isAdmin) return <Alert severity="info">Only administrators can manage plugins. Ask an administrator if you need a new plugin installed.</Alert>;
  return <>{children}</>;
}
