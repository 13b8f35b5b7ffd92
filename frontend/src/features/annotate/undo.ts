// Undo for the annotation view: every saved edit records how to reverse it. Reversing a
// delete re-creates the shape under a new id, so later entries that named the old id are
// pointed at the new one.

import type { Annotation, AnnotationCreate, AnnotationPatch } from '@/api/types';

export type UndoEntry =
  | { kind: 'created'; id: number }
  | { kind: 'updated'; id: number; before: AnnotationPatch }
  | { kind: 'deleted'; annotation: Annotation };

export const UNDO_LIMIT = 100;

export function push(stack: UndoEntry[], e: UndoEntry): UndoEntry[] {
  return [...stack, e].slice(-UNDO_LIMIT);
}

/** Entries that named annotation `from` now name `to`. */
export function remapIds(stack: UndoEntry[], from: number, to: number): UndoEntry[] {
  return stack.map((e) => (e.kind !== 'deleted' && e.id === from ? { ...e, id: to } : e.kind === 'deleted' && e.annotation.id === from ? { ...e, annotation: { ...e.annotation, id: to } } : e));
}

/** What to send to re-create a deleted annotation as it was (a model-made one comes back as
 * `manual`: only the server marks annotations `custom_model`, when it accepts a prediction). */
export function recreation(a: Annotation): AnnotationCreate {
  const out: AnnotationCreate = { type: a.type, data: a.data, class_label: a.class_label };
  if (a.confidence != null) out.confidence = a.confidence;
  return out;
}

/** The fields of `before` an update changed, to put back. */
export function reversal(before: Annotation, patch: AnnotationPatch): AnnotationPatch {
  const out: AnnotationPatch = {};
  if (patch.data !== undefined) out.data = before.data;
  if (patch.class_label !== undefined) out.class_label = before.class_label;
  if (patch.type !== undefined) out.type = before.type;
  return out;
}
