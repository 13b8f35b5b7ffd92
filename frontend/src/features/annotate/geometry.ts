// The annotation canvas's geometry, pure so it can be tested without a browser: the view
// transform between image pixels and screen pixels under zoom and pan, hit-testing shapes and
// their handles, and the edits a drag makes (move, resize, move a polygon vertex), all kept
// inside the image. Shapes use the API's data (`host/core/src/annotation.rs`): a box is four
// corners, a circle is a centre and a radius (`size`), a polygon is its points.

import type { AnnotationData, CircleData, CornersData, Point, PointsData, ShapeType } from '@/api/types';

// ---------------------------------------------------------------------------------------
// View transform: screen = image · scale + (tx, ty)

export interface View {
  scale: number;
  tx: number;
  ty: number;
}

export const MIN_SCALE = 0.02;
export const MAX_SCALE = 40;

export const clampScale = (s: number) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, s));

export function imageToScreen(v: View, p: Point): Point {
  return [p[0] * v.scale + v.tx, p[1] * v.scale + v.ty];
}

export function screenToImage(v: View, p: Point): Point {
  return [(p[0] - v.tx) / v.scale, (p[1] - v.ty) / v.scale];
}

/** The view that shows the whole image centred in the viewport, with a margin. */
export function fitView(imageW: number, imageH: number, viewW: number, viewH: number, margin = 16): View {
  if (imageW <= 0 || imageH <= 0 || viewW <= 0 || viewH <= 0) return { scale: 1, tx: 0, ty: 0 };
  const scale = clampScale(Math.min((viewW - 2 * margin) / imageW, (viewH - 2 * margin) / imageH));
  return { scale, tx: (viewW - imageW * scale) / 2, ty: (viewH - imageH * scale) / 2 };
}

/** Zooms by `factor` keeping the image point under the screen point `at` where it is. */
export function zoomAt(v: View, factor: number, at: Point): View {
  const scale = clampScale(v.scale * factor);
  const ip = screenToImage(v, at);
  return { scale, tx: at[0] - ip[0] * scale, ty: at[1] - ip[1] * scale };
}

export function pan(v: View, dx: number, dy: number): View {
  return { ...v, tx: v.tx + dx, ty: v.ty + dy };
}

// ---------------------------------------------------------------------------------------
// Shapes

export interface Shape {
  type: ShapeType;
  data: AnnotationData;
}

export type Rect = { x1: number; y1: number; x2: number; y2: number };

export const isCircle = (d: AnnotationData): d is CircleData => 'size' in d;
export const isCorners = (d: AnnotationData): d is CornersData => 'corners' in d;
export const isPoints = (d: AnnotationData): d is PointsData => 'points' in d;

/** The four corners of an axis-aligned rectangle: top-left, top-right, bottom-right, bottom-left. */
export function cornersFromRect(a: Point, b: Point): CornersData['corners'] {
  const x1 = Math.min(a[0], b[0]);
  const x2 = Math.max(a[0], b[0]);
  const y1 = Math.min(a[1], b[1]);
  const y2 = Math.max(a[1], b[1]);
  return [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ];
}

export function boundsOf(points: readonly Point[]): Rect {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const [x, y] of points) {
    x1 = Math.min(x1, x);
    y1 = Math.min(y1, y);
    x2 = Math.max(x2, x);
    y2 = Math.max(y2, y);
  }
  return { x1, y1, x2, y2 };
}

export function shapeBounds(d: AnnotationData): Rect {
  if (isCircle(d)) return { x1: d.x - d.size, y1: d.y - d.size, x2: d.x + d.size, y2: d.y + d.size };
  return boundsOf(isCorners(d) ? d.corners : d.points);
}

export function polygonArea(points: readonly Point[]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i];
    const b = points[(i + 1) % points.length];
    twice += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(twice) / 2;
}

export function shapeArea(d: AnnotationData): number {
  if (isCircle(d)) return Math.PI * d.size * d.size;
  return polygonArea(isCorners(d) ? d.corners : d.points);
}

/** Even-odd ray casting. */
export function pointInPolygon(p: Point, poly: readonly Point[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

export function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  if (len2 === 0) return distance(p, a);
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return distance(p, [a[0] + t * dx, a[1] + t * dy]);
}

/** Index of the edge (from point i to i+1) nearest to p, and its distance. */
export function nearestEdge(p: Point, poly: readonly Point[]): { index: number; distance: number } {
  let best = { index: -1, distance: Infinity };
  for (let i = 0; i < poly.length; i++) {
    const d = distanceToSegment(p, poly[i], poly[(i + 1) % poly.length]);
    if (d < best.distance) best = { index: i, distance: d };
  }
  return best;
}

/** The handles of a shape (image coordinates): box corners, polygon vertices, a circle's edge. */
export function handlesOf(d: AnnotationData): Point[] {
  if (isCircle(d)) return [[d.x + d.size, d.y], [d.x, d.y + d.size], [d.x - d.size, d.y], [d.x, d.y - d.size]];
  return isCorners(d) ? d.corners.map((c) => [c[0], c[1]] as Point) : d.points.map((c) => [c[0], c[1]] as Point);
}

// ---------------------------------------------------------------------------------------
// Hit-testing

export type Hit = { index: number; part: 'handle'; handle: number } | { index: number; part: 'body' };

function bodyHit(d: AnnotationData, p: Point, tol: number): boolean {
  if (isCircle(d)) return distance(p, [d.x, d.y]) <= d.size + tol;
  const poly = isCorners(d) ? d.corners : d.points;
  return pointInPolygon(p, poly) || nearestEdge(p, poly).distance <= tol;
}

/**
 * What is under image point `p`. `tol` is the grab distance in image pixels (a constant screen
 * distance divided by the scale). The selected shape's handles win, then the smallest shape
 * containing the point, so a small box inside a large one can still be picked.
 */
export function hitTest(shapes: readonly Shape[], p: Point, tol: number, selected: number | null = null): Hit | null {
  if (selected !== null && shapes[selected]) {
    const hs = handlesOf(shapes[selected].data);
    let best = -1;
    let bestD = Infinity;
    hs.forEach((h, i) => {
      const dd = distance(p, h);
      if (dd <= tol && dd < bestD) {
        best = i;
        bestD = dd;
      }
    });
    if (best >= 0) return { index: selected, part: 'handle', handle: best };
  }
  let hit: Hit | null = null;
  let area = Infinity;
  shapes.forEach((s, i) => {
    if (!bodyHit(s.data, p, tol)) return;
    const a = shapeArea(s.data);
    if (a <= area) {
      // `<=`: among equal areas the later (drawn on top) wins.
      hit = { index: i, part: 'body' };
      area = a;
    }
  });
  return hit;
}

// ---------------------------------------------------------------------------------------
// Edits

export const clampPoint = (p: Point, w: number, h: number): Point => [Math.min(w, Math.max(0, p[0])), Math.min(h, Math.max(0, p[1]))];

/** Moves a shape by (dx, dy), limited so that it stays inside the `w`×`h` image. */
export function moveShape(d: AnnotationData, dx: number, dy: number, w: number, h: number): AnnotationData {
  const b = shapeBounds(d);
  // Never push a shape further out than it already is, and never past the image edges.
  const mx = Math.min(Math.max(dx, Math.min(0, -b.x1)), Math.max(0, w - b.x2));
  const my = Math.min(Math.max(dy, Math.min(0, -b.y1)), Math.max(0, h - b.y2));
  if (isCircle(d)) return { x: d.x + mx, y: d.y + my, size: d.size };
  const shift = (q: Point): Point => [q[0] + mx, q[1] + my];
  if (isCorners(d)) return { corners: d.corners.map(shift) as CornersData['corners'] };
  return { points: d.points.map(shift) };
}

/**
 * Drags handle `handle` of a shape to image point `to` (clamped to the image). A box corner
 * resizes against the opposite corner (the result is axis-aligned); a circle handle sets the
 * radius; a polygon handle moves that vertex.
 */
export function dragHandle(d: AnnotationData, handle: number, to: Point, w: number, h: number): AnnotationData {
  const p = clampPoint(to, w, h);
  if (isCircle(d)) return { x: d.x, y: d.y, size: Math.max(1, distance([d.x, d.y], p)) };
  if (isCorners(d)) {
    const opposite = d.corners[(handle + 2) % 4];
    return { corners: cornersFromRect(opposite, p) };
  }
  return { points: d.points.map((q, i) => (i === handle ? p : q)) };
}

/** Adds a vertex on the polygon edge nearest to `p`. */
export function insertVertex(d: PointsData, p: Point): PointsData {
  const { index } = nearestEdge(p, d.points);
  if (index < 0) return d;
  const points = [...d.points];
  points.splice(index + 1, 0, p);
  return { points };
}

/** Removes vertex `i` if the polygon keeps at least three. */
export function removeVertex(d: PointsData, i: number): PointsData {
  if (d.points.length <= 3 || i < 0 || i >= d.points.length) return d;
  return { points: d.points.filter((_, k) => k !== i) };
}

/** The shape a drag from `a` to `b` draws, or null when it is too small to be meant. */
export function shapeFromDrag(type: 'box' | 'circle', a: Point, b: Point, w: number, h: number, minSize = 2): AnnotationData | null {
  const p0 = clampPoint(a, w, h);
  const p1 = clampPoint(b, w, h);
  if (type === 'circle') {
    const r = distance(p0, p1);
    return r >= minSize ? { x: p0[0], y: p0[1], size: r } : null;
  }
  if (Math.abs(p1[0] - p0[0]) < minSize || Math.abs(p1[1] - p0[1]) < minSize) return null;
  return { corners: cornersFromRect(p0, p1) };
}

/** A finished polygon, or null when it has fewer than three distinct points or no area. */
export function finishPolygon(points: readonly Point[], w: number, h: number): PointsData | null {
  const pts = points.map((p) => clampPoint(p, w, h));
  const distinct = pts.filter((p, i) => i === 0 || distance(p, pts[i - 1]) > 1e-6);
  if (distinct.length >= 2 && distance(distinct[0], distinct[distinct.length - 1]) < 1e-6) distinct.pop();
  if (distinct.length < 3 || polygonArea(distinct) <= 0) return null;
  return { points: distinct };
}

/** Rounds coordinates to 0.01 px so stored shapes do not carry float noise. */
export function roundData(d: AnnotationData): AnnotationData {
  const r = (v: number) => Math.round(v * 100) / 100;
  if (isCircle(d)) return { x: r(d.x), y: r(d.y), size: r(d.size) };
  if (isCorners(d)) return { corners: d.corners.map(([x, y]) => [r(x), r(y)]) as CornersData['corners'] };
  return { points: d.points.map(([x, y]) => [r(x), r(y)] as Point) };
}
