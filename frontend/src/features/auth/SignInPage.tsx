// Sign in and create an account. The first account created on a server becomes its admin.

import { useState, type FormEvent } from 'react';
import { Link as RouterLink, Navigate, useLocation, useNavigate } from 'react-router-dom';
import { Alert, Box, Button, Card, CardContent, Link, Stack, TextField, Typography } from '@mui/material';
import { ApiError, errorMessage } from '@/api/client';
import { useAuth } from './AuthProvider';
import { Logo } from '@/layout/Logo';

type Mode = 'sign-in' | 'register';

export function validateCredentials(email: string, password: string, mode: Mode, confirm?: string): { email?: string; password?: string; confirm?: string } {
  const errors: { email?: string; password?: string; confirm?: string } = {};
  if (!email.trim()) errors.email = 'Enter your email address.';
  else if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) errors.email = 'That does not look like an email address.';
  if (!password) errors.password = 'Enter your password.';
  else if (mode === 'register' && password.length < 8) errors.password = 'Use at least 8 characters.';
  if (mode === 'register' && confirm !== undefined && confirm !== password) errors.confirm = 'The passwords do not match.';
  return errors;
}

export function SignInPage({ mode }: { mode: Mode }) {
  const { signIn, register, signedIn } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const state = (location.state ?? {}) as { message?: string; from?: string };
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<ReturnType<typeof validateCredentials>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (signedIn && !busy) return <Navigate to={state.from && state.from !== '/sign-in' ? state.from : '/projects'} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const v = validateCredentials(email, password, mode, mode === 'register' ? confirm : undefined);
    setErrors(v);
    setFormError(null);
    if (Object.keys(v).length) return;
    setBusy(true);
    try {
      const creds = { email: email.trim(), password };
      if (mode === 'register') await register(creds);
      else await signIn(creds);
      navigate(state.from && !state.from.startsWith('/sign-in') && !state.from.startsWith('/register') ? state.from : '/projects', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setFormError('The email or password is not right.');
      else if (err instanceof ApiError && err.status === 409) setErrors({ email: 'An account with this email already exists. Sign in instead.' });
      else if (err instanceof ApiError && err.fieldErrors().length) {
        const fe: Record<string, string> = {};
        for (const f of err.fieldErrors()) fe[f.field] = f.message;
        setErrors(fe);
        setFormError(err.message);
      } else setFormError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const isRegister = mode === 'register';
  return (
    <Box sx={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', p: 2, background: 'linear-gradient(135deg, #1a2040 0%, #3f51b5 55%, #00897b 100%)' }}>
      <Card sx={{ width: '100%', maxWidth: 420, boxShadow: '0 20px 60px rgba(0,0,0,0.25)', border: 0 }}>
        <CardContent sx={{ p: 4 }}>
          <Stack spacing={1} sx={{ alignItems: 'center', mb: 3 }}>
            <Logo size={40} />
            <Typography variant="h5" component="h1">
              {isRegister ? 'Create your account' : 'Sign in to AnnotateForge'}
            </Typography>
            <Typography color="text.secondary" sx={{ textAlign: 'center' }}>
              {isRegister ? 'Annotate images, train models and put them to work.' : 'Welcome back.'}
            </Typography>
          </Stack>
          {state.message && !formError && (
            <Alert severity={state.message.includes('expired') ? 'warning' : 'info'} sx={{ mb: 2 }}>
              {state.message}
            </Alert>
          )}
          {formError && (
            <Alert severity="error" sx={{ mb: 2 }}>
              {formError}
            </Alert>
          )}
          <Box component="form" noValidate onSubmit={submit}>
            <Stack spacing={2}>
              <TextField
                label="Email"
                type="email"
                name="email"
                autoComplete="email"
                autoFocus
                size="medium"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                error={!!errors.email}
                helperText={errors.email}
                fullWidth
              />
              <TextField
                label="Password"
                type="password"
                name="password"
                autoComplete={isRegister ? 'new-password' : 'current-password'}
                size="medium"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                error={!!errors.password}
                helperText={errors.password ?? (isRegister ? 'At least 8 characters.' : undefined)}
                fullWidth
              />
              {isRegister && (
                <TextField
                  label="Confirm password"
                  type="password"
                  name="confirm"
                  autoComplete="new-password"
                  size="medium"
                  value={confirm}
                  onChange={(e) => setConfirm(e.target.value)}
                  error={!!errors.confirm}
                  helperText={errors.confirm}
                  fullWidth
                />
              )}
              <Button type="submit" variant="contained" size="large" disabled={busy} fullWidth>
                {busy ? (isRegister ? 'Creating account…' : 'Signing in…') : isRegister ? 'Create account' : 'Sign in'}
              </Button>
            </Stack>
          </Box>
          <Typography sx={{ mt: 3, textAlign: 'center' }} color="text.secondary">
            {isRegister ? 'Already have an account? ' : 'New here? '}
            <Link component={RouterLink} to={isRegister ? '/sign-in' : '/register'} state={{ from: state.from }}>
              {isRegister ? 'Sign in' : 'Create an account'}
            </Link>
          </Typography>
        </CardContent>
      </Card>
    </Box>
  );
}
