// The annotations of the image being edited, with optimistic saves: a change shows at once
// in the query cache and is rolled back, with a message, if the server refuses it.

import { useCallback } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { keys, useImageAnnotations } from '@/api/queries';
import type { Annotation, AnnotationCreate, AnnotationPatch } from '@/api/types';
import { useNotify } from '@/components/notify';

let tempId = -1;

export function useAnnotationStore(imageId: number, projectId: number) {
  const qc = useQueryClient();
  const notify = useNotify();
  const query = useImageAnnotations(imageId);
  const key = keys.imageAnnotations(imageId);

  const set = useCallback((fn: (list: Annotation[]) => Annotation[]) => qc.setQueryData<Annotation[]>(key, (l) => fn(l ?? [])), [qc, key]); // eslint-disable-line react-hooks/exhaustive-deps

  /** Counts on the project page and in the wizard change with every edit. */
  const countsChanged = useCallback(() => {
    qc.invalidateQueries({ queryKey: keys.imagesOf(projectId) });
    qc.invalidateQueries({ queryKey: keys.projectAnnotations(projectId) });
    qc.invalidateQueries({ queryKey: keys.project(projectId), exact: true });
    qc.invalidateQueries({ queryKey: keys.projects, exact: true });
  }, [qc, projectId]);

  const create = useCallback(
    /** Saves `a` (shown at once); `send` replaces the plain POST, e.g. to accept a prediction. */
    async (a: Omit<AnnotationCreate, 'source'> & Partial<Pick<Annotation, 'source'>>, send?: () => Promise<Annotation>): Promise<Annotation | null> => {
      const temp: Annotation = { id: tempId--, image_id: imageId, confidence: null, source: 'manual', ...a } as Annotation;
      set((l) => [...l, temp]);
      try {
        const saved = await (send ? send() : ep.annotations.create(imageId, { ...a, source: undefined }));
        set((l) => l.map((x) => (x.id === temp.id ? saved : x)));
        countsChanged();
        return saved;
      } catch (e) {
        set((l) => l.filter((x) => x.id !== temp.id));
        notify(`Could not save the ${a.type}: ${errorMessage(e)}`, 'error');
        return null;
      }
    },
    [imageId, set, notify, countsChanged],
  );

  const update = useCallback(
    /** Saves a change; resolves to the annotation as it was before, or null if not saved. */
    async (id: number, patch: AnnotationPatch): Promise<Annotation | null> => {
      const before = qc.getQueryData<Annotation[]>(key)?.find((x) => x.id === id);
      if (!before || id < 0) return null; // an unsaved shape: its create is still in flight
      set((l) => l.map((x) => (x.id === id ? ({ ...x, ...patch } as Annotation) : x)));
      try {
        const saved = await ep.annotations.update(id, patch);
        if (saved) set((l) => l.map((x) => (x.id === id ? saved : x)));
        if (patch.class_label !== undefined) countsChanged();
        return before;
      } catch (e) {
        set((l) => l.map((x) => (x.id === id ? before : x)));
        notify(`Could not save the change: ${errorMessage(e)}`, 'error');
        return null;
      }
    },
    [qc, key, set, notify, countsChanged], // eslint-disable-line react-hooks/exhaustive-deps
  );

  const remove = useCallback(
    /** Deletes; resolves to the deleted annotation, or null if it was not deleted. */
    async (id: number): Promise<Annotation | null> => {
      const list = qc.getQueryData<Annotation[]>(key) ?? [];
      const idx = list.findIndex((x) => x.id === id);
      if (idx < 0 || id < 0) return null;
      const before = list[idx];
      set((l) => l.filter((x) => x.id !== id));
      try {
        await ep.annotations.remove(id);
        countsChanged();
        return before;
      } catch (e) {
        set((l) => [...l.slice(0, idx), before, ...l.slice(idx)]);
        notify(`Could not delete: ${errorMessage(e)}`, 'error');
        return null;
      }
    },
    [qc, key, set, notify, countsChanged], // eslint-disable-line react-hooks/exhaustive-deps
  );

  return { query, annotations: query.data ?? [], create, update, remove };
}
