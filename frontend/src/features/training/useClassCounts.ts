// How many annotations of each label the chosen projects hold, for the wizard's class step:
// shape labels of the chosen annotation types for detect/segment, image-level classes for
// classify. The host counts them (`GET /training/classes`); a host without that route gets
// them counted here from the projects' annotation lists and image pages.

import { useMemo } from 'react';
import { useQueries, useQuery } from '@tanstack/react-query';
import { useHasRoute } from '@/api/capabilities';
import * as ep from '@/api/endpoints';
import { keys } from '@/api/queries';
import type { AnnotationType, ClassCounts, TaskType } from '@/api/types';

/** Counts per label from the host's answer: image classes for classify, else the chosen shape types. */
export function countsFromServer(c: ClassCounts, task: TaskType | null, types: AnnotationType[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const cls of c.classes) {
    const n = task === 'classify' ? cls.image_labels : types.reduce((sum, t) => sum + (cls.annotations[t] ?? 0), 0);
    if (n > 0) m.set(cls.class_label, n);
  }
  return m;
}

/** Labels the chosen types leave out but other types the task accepts hold, with those types
 * (so the wizard can say "circle is only drawn as circles: tick Circles to train it"). */
export function labelsElsewhere(c: ClassCounts, task: TaskType | null, chosen: AnnotationType[], accepted: AnnotationType[]): { label: string; types: AnnotationType[] }[] {
  if (!task || task === 'classify') return [];
  const out: { label: string; types: AnnotationType[] }[] = [];
  for (const cls of c.classes) {
    if (chosen.some((t) => (cls.annotations[t] ?? 0) > 0)) continue;
    const types = accepted.filter((t) => !chosen.includes(t) && (cls.annotations[t] ?? 0) > 0);
    if (types.length) out.push({ label: cls.class_label, types });
  }
  return out;
}

// One shared empty map: a new one each render would re-trigger effects that depend on it.
const EMPTY: Map<string, number> = new Map();

export function useClassCounts(projectIds: number[], task: TaskType | null, types: AnnotationType[], accepted: AnnotationType[] = []) {
  const hasRoute = useHasRoute('/api/v1/training/classes');
  const ids = [...projectIds].sort((a, b) => a - b);
  const server = useQuery({
    queryKey: ['training', 'classes', ids.join(',')],
    queryFn: () => ep.jobs.classes(ids),
    enabled: hasRoute === true && ids.length > 0,
    staleTime: 30_000,
  });
  const local = useLocalClassCounts(hasRoute === false ? projectIds : [], task, types);
  const typesKey = types.join(',');
  const serverCounts = useMemo(() => (server.data ? countsFromServer(server.data, task, types) : null), [server.data, task, typesKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const elsewhere = useMemo(() => (server.data ? labelsElsewhere(server.data, task, types, accepted) : []), [server.data, task, typesKey, accepted.join(',')]); // eslint-disable-line react-hooks/exhaustive-deps
  if (hasRoute === undefined) return { counts: EMPTY, loading: true, error: null, elsewhere: [] };
  if (hasRoute) return { counts: serverCounts ?? EMPTY, loading: ids.length > 0 && server.isPending, error: server.error, elsewhere };
  return { ...local, elsewhere: [] as { label: string; types: AnnotationType[] }[] };
}

function useLocalClassCounts(projectIds: number[], task: TaskType | null, types: AnnotationType[]) {
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
