// Image files need the bearer token, so an <img src> cannot fetch them directly: we fetch the
// bytes, keep an object URL per image (a bounded cache, oldest revoked first) and hand it out.

import { useEffect, useState } from 'react';
import * as ep from '@/api/endpoints';

const MAX = 400;
const cache = new Map<number, string>();
const inflight = new Map<number, Promise<string>>();

function remember(id: number, url: string) {
  cache.set(id, url);
  while (cache.size > MAX) {
    const [oldId, oldUrl] = cache.entries().next().value as [number, string];
    cache.delete(oldId);
    URL.revokeObjectURL(oldUrl);
  }
}

export function loadImageUrl(id: number): Promise<string> {
  const hit = cache.get(id);
  if (hit) return Promise.resolve(hit);
  let p = inflight.get(id);
  if (!p) {
    p = ep.images
      .file(id)
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        remember(id, url);
        return url;
      })
      .finally(() => inflight.delete(id));
    inflight.set(id, p);
  }
  return p;
}

/** Forgets an image (deleted): its object URL is released. */
export function forgetImageUrl(id: number) {
  const url = cache.get(id);
  if (url) URL.revokeObjectURL(url);
  cache.delete(id);
}

export function useImageUrl(id: number | null | undefined): { url: string | null; error: boolean } {
  const [state, setState] = useState<{ id: number | null; url: string | null; error: boolean }>(() => ({
    id: id ?? null,
    url: id != null ? (cache.get(id) ?? null) : null,
    error: false,
  }));
  useEffect(() => {
    if (id == null) return;
    let live = true;
    const hit = cache.get(id);
    if (hit) {
      setState({ id, url: hit, error: false });
      return;
    }
    setState({ id, url: null, error: false });
    loadImageUrl(id).then(
      (url) => live && setState({ id, url, error: false }),
      () => live && setState({ id, url: null, error: true }),
    );
    return () => {
      live = false;
    };
  }, [id]);
  return state.id === id ? { url: state.url, error: state.error } : { url: null, error: false };
}
