import { describe, expect, it } from 'vitest';
import type { ClassCounts } from '@/api/types';
import { countsFromServer, labelsElsewhere } from './useClassCounts';

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

describe('labelsElsewhere', () => {
  const counts: ClassCounts = {
    projects: [1],
    total_images: 72,
    classes: [
      { class_label: 'circle', annotations: { circle: 76 }, total_annotations: 76, annotated_images: 24, image_labels: 24 },
      { class_label: 'square', annotations: { box: 74 }, total_annotations: 74, annotated_images: 24, image_labels: 24 },
      { class_label: 'triangle', annotations: { polygon: 45 }, total_annotations: 45, annotated_images: 24, image_labels: 24 },
      { class_label: 'blob', annotations: { polygon: 1, circle: 3 }, total_annotations: 4, annotated_images: 2, image_labels: 0 },
    ],
  };
  it('names the labels only the unticked types hold, with those types', () => {
    expect(labelsElsewhere(counts, 'segment', ['polygon'], ['polygon', 'circle', 'box', 'rectangle'])).toEqual([
      { label: 'circle', types: ['circle'] },
      { label: 'square', types: ['box'] },
    ]);
    expect(labelsElsewhere(counts, 'detect', ['box', 'rectangle', 'circle', 'polygon'], ['box', 'rectangle', 'circle', 'polygon'])).toEqual([]);
    expect(labelsElsewhere(counts, 'classify', [], ['image_class'])).toEqual([]);
  });
});
