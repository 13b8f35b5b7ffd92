import { describe, expect, it } from 'vitest';
import type { Point } from '@/api/types';
import {
  clampScale,
  cornersFromRect,
  dragHandle,
  finishPolygon,
  fitView,
  hitTest,
  imageToScreen,
  insertVertex,
  MAX_SCALE,
  moveShape,
  pan,
  pointInPolygon,
  removeVertex,
  roundData,
  screenToImage,
  shapeBounds,
  shapeFromDrag,
  zoomAt,
  type Shape,
  type View,
} from './geometry';

const close = (a: Point, b: Point) => {
  expect(a[0]).toBeCloseTo(b[0], 9);
  expect(a[1]).toBeCloseTo(b[1], 9);
};

describe('view transform', () => {
  it('image ↔ screen round-trips under any zoom and pan', () => {
    const views: View[] = [
      { scale: 1, tx: 0, ty: 0 },
      { scale: 0.37, tx: 120.5, ty: -33 },
      { scale: 7.5, tx: -900, ty: 410 },
    ];
    const pts: Point[] = [[0, 0], [639, 479], [12.25, 300.5]];
    for (const v of views) for (const p of pts) close(screenToImage(v, imageToScreen(v, p)), p);
  });

  it('fits the image centred with a margin, by its limiting side', () => {
    const v = fitView(1000, 500, 820, 620, 10);
    expect(v.scale).toBeCloseTo(0.8);
    close(imageToScreen(v, [0, 0]), [10, 110]);
    close(imageToScreen(v, [1000, 500]), [810, 510]);
    expect(fitView(0, 10, 100, 100)).toEqual({ scale: 1, tx: 0, ty: 0 });
  });

  it('zooms about the cursor: the image point under it stays put', () => {
    const v: View = { scale: 0.5, tx: 30, ty: 40 };
    const at: Point = [200, 150];
    const under = screenToImage(v, at);
    for (const f of [2, 0.5, 1.25 ** 7]) {
      const z = zoomAt(v, f, at);
      close(imageToScreen(z, under), at);
    }
    expect(zoomAt(v, 1e9, at).scale).toBe(MAX_SCALE);
    expect(clampScale(0)).toBeGreaterThan(0);
  });

  it('pans in screen pixels', () => {
    expect(pan({ scale: 2, tx: 1, ty: 2 }, 10, -5)).toEqual({ scale: 2, tx: 11, ty: -3 });
  });
});

describe('hit-testing', () => {
  const big: Shape = { type: 'box', data: { corners: cornersFromRect([0, 0], [100, 100]) } };
  const small: Shape = { type: 'box', data: { corners: cornersFromRect([40, 40], [60, 60]) } };
  const circle: Shape = { type: 'circle', data: { x: 200, y: 50, size: 20 } };
  const tri: Shape = { type: 'polygon', data: { points: [[300, 0], [400, 0], [300, 100]] } };
  const shapes = [big, small, circle, tri];

  it('finds the smallest shape under the point', () => {
    expect(hitTest(shapes, [50, 50], 2)).toEqual({ index: 1, part: 'body' });
    expect(hitTest(shapes, [10, 10], 2)).toEqual({ index: 0, part: 'body' });
    expect(hitTest(shapes, [210, 50], 2)).toEqual({ index: 2, part: 'body' });
    expect(hitTest(shapes, [320, 20], 2)).toEqual({ index: 3, part: 'body' });
    expect(hitTest(shapes, [390, 90], 2)).toBeNull(); // outside the triangle's hypotenuse
    expect(hitTest(shapes, [150, 150], 2)).toBeNull();
  });

  it('grabs edges within the tolerance', () => {
    expect(hitTest(shapes, [223, 50], 4)).toEqual({ index: 2, part: 'body' });
    expect(hitTest(shapes, [225, 50], 4)).toBeNull();
  });

  it("prefers the selected shape's handles", () => {
    expect(hitTest(shapes, [41, 59], 3, 1)).toEqual({ index: 1, part: 'handle', handle: 3 });
    expect(hitTest(shapes, [220, 50], 3, 2)).toEqual({ index: 2, part: 'handle', handle: 0 });
    expect(hitTest(shapes, [300, 100], 3, 3)).toEqual({ index: 3, part: 'handle', handle: 2 });
    // Without selection a corner is just the body.
    expect(hitTest(shapes, [41, 59], 3)).toEqual({ index: 1, part: 'body' });
  });

  it('point in polygon handles concave shapes', () => {
    const u: Point[] = [[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]];
    expect(pointInPolygon([5, 20], u)).toBe(true);
    expect(pointInPolygon([15, 20], u)).toBe(false);
  });
});

describe('editing', () => {
  it('moves a shape but keeps it inside the image', () => {
    const box = { corners: cornersFromRect([10, 10], [30, 20]) };
    expect(shapeBounds(moveShape(box, 5, 5, 100, 100))).toEqual({ x1: 15, y1: 15, x2: 35, y2: 25 });
    expect(shapeBounds(moveShape(box, -50, 200, 100, 100))).toEqual({ x1: 0, y1: 90, x2: 20, y2: 100 });
    expect(moveShape({ x: 50, y: 50, size: 10 }, 100, 0, 100, 100)).toEqual({ x: 90, y: 50, size: 10 });
    const poly = { points: [[5, 5], [20, 5], [5, 20]] as Point[] };
    expect(moveShape(poly, -10, 0, 100, 100)).toEqual({ points: [[0, 5], [15, 5], [0, 20]] });
  });

  it('resizes a box from a corner against the opposite one, flipping when crossed', () => {
    const box = { corners: cornersFromRect([10, 10], [30, 20]) };
    expect(dragHandle(box, 2, [50, 40], 100, 100)).toEqual({ corners: cornersFromRect([10, 10], [50, 40]) });
    // Dragging the bottom-right handle past the top-left corner flips the box.
    expect(shapeBounds(dragHandle(box, 2, [0, 0], 100, 100))).toEqual({ x1: 0, y1: 0, x2: 10, y2: 10 });
    // Clamped to the image.
    expect(shapeBounds(dragHandle(box, 0, [-20, -20], 100, 100))).toEqual({ x1: 0, y1: 0, x2: 30, y2: 20 });
  });

  it('sets a circle radius and moves one polygon vertex', () => {
    expect(dragHandle({ x: 10, y: 10, size: 2 }, 0, [13, 14], 100, 100)).toEqual({ x: 10, y: 10, size: 5 });
    expect(dragHandle({ points: [[0, 0], [10, 0], [0, 10]] }, 1, [20, 5], 100, 100)).toEqual({ points: [[0, 0], [20, 5], [0, 10]] });
  });

  it('inserts a vertex on the nearest edge and removes vertices down to three', () => {
    const sq = { points: [[0, 0], [10, 0], [10, 10], [0, 10]] as Point[] };
    expect(insertVertex(sq, [10, 5]).points).toEqual([[0, 0], [10, 0], [10, 5], [10, 10], [0, 10]]);
    expect(insertVertex(sq, [-1, 5]).points).toEqual([[0, 0], [10, 0], [10, 10], [0, 10], [-1, 5]]);
    const three = removeVertex(sq, 0);
    expect(three.points).toEqual([[10, 0], [10, 10], [0, 10]]);
    expect(removeVertex(three, 0)).toBe(three);
  });

  it('draws from a drag, ignoring clicks too small to be meant', () => {
    expect(shapeFromDrag('box', [30, 40], [10, 10], 100, 100)).toEqual({ corners: cornersFromRect([10, 10], [30, 40]) });
    expect(shapeFromDrag('box', [10, 10], [11, 50], 100, 100)).toBeNull();
    expect(shapeFromDrag('box', [90, 90], [150, 150], 100, 100)).toEqual({ corners: cornersFromRect([90, 90], [100, 100]) });
    expect(shapeFromDrag('circle', [50, 50], [53, 54], 100, 100)).toEqual({ x: 50, y: 50, size: 5 });
    expect(shapeFromDrag('circle', [50, 50], [50.5, 50], 100, 100)).toBeNull();
  });

  it('finishes polygons with at least three distinct points and some area', () => {
    expect(finishPolygon([[0, 0], [10, 0], [0, 10], [0, 0]], 100, 100)).toEqual({ points: [[0, 0], [10, 0], [0, 10]] });
    expect(finishPolygon([[0, 0], [10, 0], [10, 0]], 100, 100)).toBeNull();
    expect(finishPolygon([[0, 0], [5, 0], [10, 0]], 100, 100)).toBeNull();
    expect(finishPolygon([[-5, 0], [10, 0], [10, 200]], 100, 100)).toEqual({ points: [[0, 0], [10, 0], [10, 100]] });
  });

  it('rounds stored coordinates to hundredths', () => {
    expect(roundData({ x: 1.23456, y: 2.5, size: 3.999 })).toEqual({ x: 1.23, y: 2.5, size: 4 });
  });
});
