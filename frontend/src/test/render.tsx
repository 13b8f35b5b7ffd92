// Renders a component with the app's providers around it, at a given route, for component tests.

import type { ReactElement } from 'react';
import { render } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { ThemeProvider } from '@mui/material';
import { NotifyProvider } from '@/components/notify';
import { AuthProvider } from '@/features/auth/AuthProvider';
import { theme } from '@/theme';

export function LocationProbe() {
  const l = useLocation();
  return <div data-testid="location" data-state={JSON.stringify(l.state ?? null)}>{l.pathname + l.search}</div>;
}

export function renderApp(routes: { path: string; element: ReactElement }[], { at = '/', state }: { at?: string; state?: unknown } = {}) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const utils = render(
    <ThemeProvider theme={theme}>
      <QueryClientProvider client={qc}>
        <MemoryRouter initialEntries={[{ pathname: at.split('?')[0], search: at.includes('?') ? '?' + at.split('?')[1] : '', state }]}>
          <NotifyProvider>
            <AuthProvider>
              <Routes>
                {routes.map((r) => (
                  <Route key={r.path} path={r.path} element={r.element} />
                ))}
              </Routes>
              <LocationProbe />
            </AuthProvider>
          </NotifyProvider>
        </MemoryRouter>
      </QueryClientProvider>
    </ThemeProvider>,
  );
  return { ...utils, qc };
}

/** A fetch mock answering by method and path; unknown routes get a 404 error body. */
export function mockFetch(routes: Record<string, (req: { url: URL; init?: RequestInit; body: unknown }) => { status?: number; body?: unknown }>) {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), 'http://localhost');
    const key = `${init?.method ?? 'GET'} ${url.pathname}`;
    const handler = routes[key];
    let body: unknown = undefined;
    if (typeof init?.body === 'string') body = JSON.parse(init.body);
    if (!handler) return new Response(JSON.stringify({ error: { code: 'not_found', message: `no route ${key}` } }), { status: 404 });
    const r = handler({ url, init, body });
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), { status: r.status ?? 200, headers: { 'Content-Type': 'application/json' } });
  };
}
