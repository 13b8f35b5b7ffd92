// The classes offered while annotating a project: the labels already used in it (shape labels
// and image-level classes) plus classes the user added here but has not used yet, which are kept
// in localStorage per project so they survive a reload. Order is stable (first seen first)
// because the number keys 1–9 pick classes by position.

import { useCallback, useMemo, useState } from 'react';
import { useImageClassLabels, useProjectAnnotations } from '@/api/queries';

const storeKey = (projectId: number) => `annotateforge.classes.${projectId}`;

function readStored(projectId: number): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(storeKey(projectId)) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Merges class lists keeping the first occurrence of each label, in order. */
export function mergeClasses(...lists: (readonly string[])[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const l of lists)
    for (const c of l) {
      const t = c.trim();
      if (t && !seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    }
  return out;
}

export function useProjectClasses(projectId: number, extra: readonly string[] = []) {
  const annotations = useProjectAnnotations(projectId);
  const imageClasses = useImageClassLabels(projectId);
  const [stored, setStored] = useState<string[]>(() => readStored(projectId));
  // Uses per label: shapes with it plus images classed as it.
  const used = useMemo(() => {
    const counts = new Map<string, number>();
    for (const a of annotations.data ?? []) counts.set(a.class_label, (counts.get(a.class_label) ?? 0) + 1);
    for (const c of imageClasses.data ?? []) counts.set(c, (counts.get(c) ?? 0) + 1);
    return counts;
  }, [annotations.data, imageClasses.data]);

  // Stored order first so numbering does not jump when a class gets its first use.
  const classes = useMemo(() => mergeClasses(stored, [...used.keys()].sort(), extra), [stored, used, extra]);

  const addClass = useCallback(
    (name: string) => {
      const t = name.trim();
      if (!t) return;
      setStored((prev) => {
        const next = mergeClasses(prev, classes, [t]);
        try {
          localStorage.setItem(storeKey(projectId), JSON.stringify(next));
        } catch {
          // Storage full or forbidden: the class still works for this visit.
        }
        return next;
      });
    },
    [projectId, classes],
  );

  return { classes, counts: used, addClass, loading: annotations.isPending || imageClasses.isPending };
}
