import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from '@/api/client';
import { getToken, setToken } from '@/api/session';
import { mockFetch, renderApp } from '@/test/render';
import { RequireAuth } from './RequireAuth';
import { SignInPage, validateCredentials } from './SignInPage';

const me = { id: 1, email: 'ada@example.com', role: 'admin' };

afterEach(() => vi.unstubAllGlobals());

describe('validateCredentials', () => {
  it('explains what is missing', () => {
    expect(validateCredentials('', '', 'sign-in')).toEqual({ email: 'Enter your email address.', password: 'Enter your password.' });
    expect(validateCredentials('ada', 'x', 'sign-in').email).toMatch(/does not look like/);
    expect(validateCredentials('a@b.c', 'short', 'register').password).toMatch(/8 characters/);
    expect(validateCredentials('a@b.c', 'longenough', 'register', 'different').confirm).toMatch(/do not match/);
    expect(validateCredentials('a@b.c', 'longenough', 'register', 'longenough')).toEqual({});
  });
});

describe('sign-in', () => {
  it('signs in, stores the token and goes where the user was headed', async () => {
    const fetchMock = vi.fn(
      mockFetch({
        'POST /api/v1/auth/login': ({ body }) => ((body as { password: string }).password === 'correct horse' ? { body: { access_token: 'jwt-1', token_type: 'bearer' } } : { status: 401, body: { error: { code: 'unauthorized', message: 'bad credentials' } } }),
        'GET /api/v1/auth/me': () => ({ body: me }),
      }),
    );
    vi.stubGlobal('fetch', fetchMock);
    renderApp(
      [
        { path: '/sign-in', element: <SignInPage mode="sign-in" /> },
        { path: '/projects/5', element: <RequireAuth><p>project five</p></RequireAuth> },
      ],
      { at: '/sign-in', state: { from: '/projects/5' } },
    );
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/email/i), 'ada@example.com');
    await user.type(screen.getByLabelText(/^password/i), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('The email or password is not right.')).toBeInTheDocument();
    expect(getToken()).toBeNull();

    await user.clear(screen.getByLabelText(/^password/i));
    await user.type(screen.getByLabelText(/^password/i), 'correct horse');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('project five')).toBeInTheDocument();
    expect(getToken()).toBe('jwt-1');
    const meCall = fetchMock.mock.calls.find(([u]) => String(u).endsWith('/auth/me'));
    expect((meCall?.[1]?.headers as Record<string, string>).Authorization).toBe('Bearer jwt-1');
  });

  it('sends the user back to sign-in with a message when the token expires', async () => {
    setToken('stale');
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: me }),
          'GET /api/v1/projects': () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'token expired' } } }),
        }),
      ),
    );
    function Projects() {
      return (
        <button type="button" onClick={() => api('/projects').catch(() => {})}>
          load
        </button>
      );
    }
    renderApp(
      [
        { path: '/sign-in', element: <SignInPage mode="sign-in" /> },
        { path: '/projects', element: <RequireAuth><Projects /></RequireAuth> },
      ],
      { at: '/projects' },
    );
    await userEvent.click(await screen.findByRole('button', { name: 'load' }));
    expect(await screen.findByText('Your session has expired. Please sign in again.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/sign-in'));
    expect(getToken()).toBeNull();
  });

  it('registers, then signs in with the same credentials', async () => {
    const calls: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'POST /api/v1/auth/register': () => (calls.push('register'), { status: 201, body: me }),
          'POST /api/v1/auth/login': () => (calls.push('login'), { body: { access_token: 'jwt-new', token_type: 'bearer' } }),
          'GET /api/v1/auth/me': () => ({ body: me }),
        }),
      ),
    );
    renderApp(
      [
        { path: '/register', element: <SignInPage mode="register" /> },
        { path: '/projects', element: <RequireAuth><p>projects page</p></RequireAuth> },
      ],
      { at: '/register' },
    );
    const user = userEvent.setup({ delay: null });
    await user.type(screen.getByLabelText(/email/i), 'ada@example.com');
    await user.type(screen.getByLabelText(/^password/i), 'long password');
    await user.type(screen.getByLabelText(/confirm password/i), 'long password');
    await user.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('projects page')).toBeInTheDocument();
    expect(calls).toEqual(['register', 'login']);
  });
});
