// How many annotations of each label the chosen projects hold, for the wizard's class step:
// shape labels of the chosen annotation types for detect/segment, image-level classes for
// classify. Read from the projects' annotation lists and image pages.

import { useMemo } from 'react';
import { useQueries } from '@tanstack/react-query';
import * as ep from '@/api/endpoints';
import { keys } from '@/api/queries';
import type { AnnotationType, TaskType } from '@/api/types';

export function useClassCounts(projectIds: number[], task: TaskType | null, types: AnnotationType[]) {
  const classify = task === 'classify';
  const results = useQueries({
    queries: projectIds.map((id) =>
      classify
        ? { queryKey: keys.imageClassLabels(id), queryFn: () => ep.images.classLabels(id), staleTime: 30_000 }
        : { queryKey: keys.projectAnnotations(id), queryFn: () => ep.projects.annotations(id), staleTime: 30_000 },
    ),
  });
  const loading = results.some((r) => r.isPending);
  const error = results.find((r) => r.isError)?.error ?? null;
  const dataKey = results.map((r) => r.dataUpdatedAt).join(',');
  const counts = useMemo(() => {
    const m = new Map<string, number>();
    for (const r of results) {
      const d = r.data as unknown;
      if (!Array.isArray(d)) continue;
      for (const item of d) {
        if (typeof item === 'string') m.set(item, (m.get(item) ?? 0) + 1);
        else if (item && types.includes(item.type)) m.set(item.class_label, (m.get(item.class_label) ?? 0) + 1);
      }
    }
    return m;
    // `results` is a new array every render; its data changes are captured by dataKey.
  }, [dataKey, types.join(','), classify]); // eslint-disable-line react-hooks/exhaustive-deps
  return { counts, loading, error };
}
