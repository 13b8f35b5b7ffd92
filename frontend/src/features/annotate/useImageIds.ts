// The ordered ids of a project's images, for previous / next in the annotation view. Loaded
// page by page (the API pages images) and cached with the project's image queries.

import { useQuery } from '@tanstack/react-query';
import * as ep from '@/api/endpoints';
import { keys } from '@/api/queries';

const PER_PAGE = 200;
const MAX_PAGES = 100; // 20 000 images; beyond that prev/next stops at the loaded range

export function useImageIds(projectId: number) {
  return useQuery({
    queryKey: [...keys.imagesOf(projectId), 'ids'],
    queryFn: async () => {
      const ids: number[] = [];
      for (let page = 1; page <= MAX_PAGES; page++) {
        const r = await ep.images.page(projectId, page, PER_PAGE);
        ids.push(...r.items.map((i) => i.id));
        if (r.items.length < PER_PAGE || ids.length >= r.total) break;
      }
      return ids;
    },
    staleTime: 60_000,
  });
}

/** The ids before and after `id` in `ids`, and its 1-based position. */
export function neighbours(ids: readonly number[] | undefined, id: number): { prev: number | null; next: number | null; position: number; total: number } {
  const list = ids ?? [];
  const i = list.indexOf(id);
  return {
    prev: i > 0 ? list[i - 1] : null,
    next: i >= 0 && i < list.length - 1 ? list[i + 1] : null,
    position: i + 1,
    total: list.length,
  };
}
