// Where the UI finds the host. The built UI is served by the host itself, so the defaults are
// same-origin paths; `VITE_API_BASE` overrides them for a UI served elsewhere.

/** Base of every REST call, without a trailing slash. */
export const API_BASE: string = (import.meta.env.VITE_API_BASE as string | undefined)?.replace(/\/$/, '') ?? '/api/v1';

/** Absolute `ws:`/`wss:` URL for a path under the API base (WebSockets need an absolute URL). */
export function wsUrl(path: string, params: Record<string, string | number | undefined>): string {
  const base = new URL(API_BASE + path, window.location.href);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) base.searchParams.set(k, String(v));
  }
  return base.toString();
}
