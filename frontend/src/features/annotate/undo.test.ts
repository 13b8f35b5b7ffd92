import { describe, expect, it } from 'vitest';
import type { Annotation } from '@/api/types';
import { push, recreation, remapIds, reversal, UNDO_LIMIT, type UndoEntry } from './undo';

const ann: Annotation = { id: 7, image_id: 1, type: 'box', data: { corners: [[0, 0], [2, 0], [2, 2], [0, 2]] }, class_label: 'cat', confidence: 0.8, source: 'custom_model' };

describe('undo', () => {
  it('is bounded', () => {
    let s: UndoEntry[] = [];
    for (let i = 0; i < UNDO_LIMIT + 5; i++) s = push(s, { kind: 'created', id: i });
    expect(s).toHaveLength(UNDO_LIMIT);
    expect(s[0]).toEqual({ kind: 'created', id: 5 });
  });

  it('points entries at the re-created id', () => {
    const s: UndoEntry[] = [{ kind: 'created', id: 7 }, { kind: 'updated', id: 7, before: { class_label: 'dog' } }, { kind: 'created', id: 8 }, { kind: 'deleted', annotation: ann }];
    expect(remapIds(s, 7, 11)).toEqual([{ kind: 'created', id: 11 }, { kind: 'updated', id: 11, before: { class_label: 'dog' } }, { kind: 'created', id: 8 }, { kind: 'deleted', annotation: { ...ann, id: 11 } }]);
  });

  it('re-creates a deleted annotation with its confidence, as manual', () => {
    expect(recreation(ann)).toEqual({ type: 'box', data: ann.data, class_label: 'cat', confidence: 0.8 });
    expect(recreation({ ...ann, confidence: null, source: 'manual' })).not.toHaveProperty('confidence');
  });

  it('reverses only what an update changed', () => {
    expect(reversal(ann, { class_label: 'dog' })).toEqual({ class_label: 'cat' });
    expect(reversal(ann, { data: { x: 1, y: 1, size: 1 } })).toEqual({ data: ann.data });
  });
});
