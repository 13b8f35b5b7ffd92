import { describe, expect, it } from 'vitest';
import type { ClassCounts } from '@/api/types';
import { countsFromServer } from './useClassCounts';

const counts: ClassCounts = {
  projects: [1, 2],
  total_images: 10,
  classes: [
    { class_label: 'cat', annotations: { box: 5, polygon: 2 }, total_annotations: 7, annotated_images: 4, image_labels: 3 },
    { class_label: 'dog', annotations: { polygon: 1 }, total_annotations: 1, annotated_images: 1, image_labels: 0 },
    { class_label: 'tree', annotations: {}, total_annotations: 0, annotated_images: 0, image_labels: 2 },
  ],
};

describe('countsFromServer', () => {
  it('counts the chosen shape types for detect/segment and image classes for classify', () => {
    expect([...countsFromServer(counts, 'detect', ['box', 'circle'])]).toEqual([['cat', 5]]);
    expect([...countsFromServer(counts, 'segment', ['polygon'])]).toEqual([['cat', 2], ['dog', 1]]);
    expect([...countsFromServer(counts, 'classify', ['image_class'])]).toEqual([['cat', 3], ['tree', 2]]);
  });
});
