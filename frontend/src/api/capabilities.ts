// What this server offers, read once from its OpenAPI document: the UI asks for a route
// before relying on it, so a host without (say) the training endpoints yet shows a clear
// message instead of a 404, and optional helpers (server-side class counts, advertised
// hyperparameter ranges) are used when present and replaced by client code when not.

import { useQuery } from '@tanstack/react-query';
import { api } from './client';

/** `/api/v1/projects/{project_id}/images` → `/api/v1/projects/{}/images`. */
export const normalizeRoute = (path: string) => path.replace(/\{[^}]*\}/g, '{}');

export async function fetchRoutes(): Promise<Set<string>> {
  // The document lives under the API base like everything else.
  const doc = await api<{ paths?: Record<string, unknown> }>('/openapi.json');
  return new Set(Object.keys(doc?.paths ?? {}).map(normalizeRoute));
}

/** The server's routes; undefined while loading. If the document cannot be read, assume
 * none of the optional routes: every feature has a path that works without them. */
export function useRoutes(): Set<string> | undefined {
  const q = useQuery({
    queryKey: ['openapi-routes'],
    queryFn: () => fetchRoutes().catch(() => new Set<string>()),
    staleTime: Infinity,
    gcTime: Infinity,
  });
  return q.data;
}

/** Whether the server has `path` (with `{param}` placeholders); undefined until known. */
export function useHasRoute(path: string): boolean | undefined {
  const routes = useRoutes();
  return routes ? routes.has(normalizeRoute(path)) : undefined;
}
