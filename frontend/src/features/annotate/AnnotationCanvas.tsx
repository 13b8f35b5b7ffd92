// The image with its shapes, zoomable and pannable, where shapes are drawn and edited. It is
// an SVG over the viewport: shapes are drawn in screen space so strokes and handles keep their
// size at any zoom. All geometry goes through `geometry.ts`; this component only turns pointer
// events into those calls and reports finished edits to the page (which saves them).

import { useCallback, useEffect, useImperativeHandle, useLayoutEffect, useRef, useState, type Ref } from 'react';
import { Box } from '@mui/material';
import type { AnnotationData, Point, ShapeType } from '@/api/types';
import {
  dragHandle,
  finishPolygon,
  fitView,
  handlesOf,
  hitTest,
  imageToScreen,
  insertVertex,
  isCircle,
  isCorners,
  isPoints,
  moveShape,
  nearestEdge,
  pan,
  removeVertex,
  screenToImage,
  shapeBounds,
  shapeFromDrag,
  distance,
  zoomAt,
  type View,
} from './geometry';
import type { Tool } from './shortcuts';

export interface CanvasShape {
  key: string | number;
  type: ShapeType;
  data: AnnotationData;
  label: string;
  color: string;
  /** Predictions are drawn dashed, with their confidence. */
  prediction?: boolean;
  confidence?: number | null;
  highlighted?: boolean;
}

export interface CanvasHandle {
  zoomBy: (factor: number) => void;
  fit: () => void;
  /** Cancels a drawing in progress; returns whether there was one. */
  cancelDrawing: () => boolean;
  finishDrawing: () => void;
  undoPoint: () => void;
  isDrawing: () => boolean;
}

interface Props {
  ref?: Ref<CanvasHandle>;
  imageUrl: string | null;
  imageWidth: number;
  imageHeight: number;
  shapes: CanvasShape[];
  /** Prediction overlay, not editable. */
  overlay?: CanvasShape[];
  selected: number | null;
  tool: Tool;
  drawColor: string;
  readOnly?: boolean;
  onSelect: (index: number | null) => void;
  onCreate: (type: 'box' | 'circle' | 'polygon', data: AnnotationData) => void;
  onChange: (index: number, data: AnnotationData) => void;
  onScaleChange?: (scale: number) => void;
}

const GRAB = 8; // screen pixels within which a handle or edge is grabbed

type Drag =
  | { kind: 'pan'; last: Point }
  | { kind: 'move'; index: number; start: Point; data: AnnotationData; current: AnnotationData }
  | { kind: 'handle'; index: number; handle: number; data: AnnotationData; current: AnnotationData }
  | { kind: 'draw'; type: 'box' | 'circle'; start: Point; current: Point };

export function AnnotationCanvas(props: Props) {
  const { imageUrl, imageWidth: iw, imageHeight: ih, shapes, overlay = [], selected, tool, drawColor, readOnly } = props;
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ w: 0, h: 0 });
  const [view, setView] = useState<View>({ scale: 1, tx: 0, ty: 0 });
  const fitted = useRef<string>('');
  const [drag, setDrag] = useState<Drag | null>(null);
  const [draft, setDraft] = useState<Point[]>([]);
  const [hover, setHover] = useState<Point | null>(null);
  const [spaceDown, setSpaceDown] = useState(false);
  const propsRef = useRef(props);
  propsRef.current = props;

  // Track the viewport size; fit the image when it or the viewport first becomes known.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const id = `${imageUrl}|${iw}x${ih}`;
    if (size.w > 0 && size.h > 0 && iw > 0 && ih > 0 && fitted.current !== id) {
      fitted.current = id;
      setView(fitView(iw, ih, size.w, size.h));
      setDraft([]);
      setDrag(null);
    }
  }, [imageUrl, iw, ih, size.w, size.h]);

  useEffect(() => props.onScaleChange?.(view.scale), [view.scale]); // eslint-disable-line react-hooks/exhaustive-deps

  const finish = useCallback(() => {
    setDraft((pts) => {
      const poly = finishPolygon(pts, iw, ih);
      if (poly) propsRef.current.onCreate('polygon', poly);
      return [];
    });
  }, [iw, ih]);

  useImperativeHandle(
    props.ref,
    (): CanvasHandle => ({
      zoomBy: (f) => setView((v) => zoomAt(v, f, [size.w / 2, size.h / 2])),
      fit: () => setView(fitView(iw, ih, size.w, size.h)),
      cancelDrawing: () => {
        const had = draft.length > 0 || drag?.kind === 'draw';
        setDraft([]);
        if (drag?.kind === 'draw') setDrag(null);
        return had;
      },
      finishDrawing: finish,
      undoPoint: () => setDraft((d) => d.slice(0, -1)),
      isDrawing: () => draft.length > 0 || drag?.kind === 'draw',
    }),
    [size.w, size.h, iw, ih, draft.length, drag, finish],
  );

  // Wheel zoom needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      setView((v) => zoomAt(v, factor, [e.clientX - r.left, e.clientY - r.top]));
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, []);

  // Space held = pan mode, as in most image editors.
  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      if (e.code === 'Space' && !(e.target instanceof HTMLInputElement) && !(e.target instanceof HTMLTextAreaElement)) {
        e.preventDefault();
        setSpaceDown(true);
      }
    };
    const up = (e: KeyboardEvent) => e.code === 'Space' && setSpaceDown(false);
    window.addEventListener('keydown', down);
    window.addEventListener('keyup', up);
    return () => {
      window.removeEventListener('keydown', down);
      window.removeEventListener('keyup', up);
    };
  }, []);

  useEffect(() => {
    if (tool !== 'polygon') setDraft([]);
  }, [tool]);

  const local = (e: { clientX: number; clientY: number }): Point => {
    const r = box.current!.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const tol = GRAB / view.scale;

  const onPointerDown = (e: React.PointerEvent) => {
    if (!iw || !ih) return;
    const s = local(e);
    const p = screenToImage(view, s);
    box.current?.focus({ preventScroll: true });
    if (e.button === 1 || spaceDown || (e.button === 0 && tool === 'select' && readOnly)) {
      (e.target as Element).setPointerCapture?.(e.pointerId);
      setDrag({ kind: 'pan', last: s });
      return;
    }
    if (e.button !== 0) return;
    if (readOnly) return;
    (e.target as Element).setPointerCapture?.(e.pointerId);
    if (tool === 'select') {
      const hit = hitTest(shapes, p, tol, selected);
      if (hit?.part === 'handle') {
        const data = shapes[hit.index].data;
        if (e.altKey && isPoints(data)) {
          const next = removeVertex(data, hit.handle);
          if (next !== data) props.onChange(hit.index, next);
          return;
        }
        setDrag({ kind: 'handle', index: hit.index, handle: hit.handle, data, current: data });
      } else if (hit) {
        props.onSelect(hit.index);
        const data = shapes[hit.index].data;
        setDrag({ kind: 'move', index: hit.index, start: p, data, current: data });
      } else {
        props.onSelect(null);
        setDrag({ kind: 'pan', last: s });
      }
      return;
    }
    if (tool === 'polygon') {
      if (draft.length >= 3 && distance(p, draft[0]) <= tol) {
        finish();
        return;
      }
      setDraft((d) => [...d, p]);
      return;
    }
    setDrag({ kind: 'draw', type: tool, start: p, current: p });
  };

  const onPointerMove = (e: React.PointerEvent) => {
    const s = local(e);
    const p = screenToImage(view, s);
    setHover(p);
    if (!drag) return;
    switch (drag.kind) {
      case 'pan':
        setView((v) => pan(v, s[0] - drag.last[0], s[1] - drag.last[1]));
        setDrag({ ...drag, last: s });
        break;
      case 'move':
        setDrag({ ...drag, current: moveShape(drag.data, p[0] - drag.start[0], p[1] - drag.start[1], iw, ih) });
        break;
      case 'handle':
        setDrag({ ...drag, current: dragHandle(drag.data, drag.handle, p, iw, ih) });
        break;
      case 'draw':
        setDrag({ ...drag, current: p });
        break;
    }
  };

  const onPointerUp = () => {
    if (!drag) return;
    setDrag(null);
    if ((drag.kind === 'move' || drag.kind === 'handle') && drag.current !== drag.data) props.onChange(drag.index, drag.current);
    if (drag.kind === 'draw') {
      const data = shapeFromDrag(drag.type, drag.start, drag.current, iw, ih, 2);
      if (data) props.onCreate(drag.type, data);
    }
  };

  const onDoubleClick = (e: React.MouseEvent) => {
    if (readOnly) return;
    if (tool === 'polygon') {
      finish();
      return;
    }
    if (tool === 'select' && selected !== null) {
      const d = shapes[selected]?.data;
      const p = screenToImage(view, local(e));
      if (d && isPoints(d) && nearestEdge(p, d.points).distance <= tol) props.onChange(selected, insertVertex(d, p));
    }
  };

  // ---- rendering ------------------------------------------------------------------------
  const sp = (p: Point) => imageToScreen(view, p);
  const shown = (i: number, s: CanvasShape): AnnotationData =>
    drag && (drag.kind === 'move' || drag.kind === 'handle') && drag.index === i ? drag.current : s.data;

  const renderShape = (s: CanvasShape, data: AnnotationData, isSel: boolean, i: number) => {
    const stroke = s.color;
    const width = isSel || s.highlighted ? 3 : 2;
    const dash = s.prediction ? '6 4' : undefined;
    const fill = s.prediction ? 'transparent' : `${stroke}${isSel ? '33' : '1f'}`;
    // A dark halo under the coloured stroke keeps outlines visible on any image, even on
    // objects of the class's own colour.
    let el: React.ReactNode;
    if (isCircle(data)) {
      const [cx, cy] = sp([data.x, data.y]);
      const r = data.size * view.scale;
      el = (
        <>
          <circle cx={cx} cy={cy} r={r} stroke="rgba(0,0,0,0.55)" strokeWidth={width + 2.5} fill="none" />
          <circle cx={cx} cy={cy} r={r} stroke={stroke} strokeWidth={width} strokeDasharray={dash} fill={fill} />
        </>
      );
    } else {
      const pts = (isCorners(data) ? data.corners : data.points).map(sp).map((q) => q.join(',')).join(' ');
      el = (
        <>
          <polygon points={pts} stroke="rgba(0,0,0,0.55)" strokeWidth={width + 2.5} fill="none" strokeLinejoin="round" />
          <polygon points={pts} stroke={stroke} strokeWidth={width} strokeDasharray={dash} fill={fill} strokeLinejoin="round" />
        </>
      );
    }
    const b = shapeBounds(data);
    const [lx, ly] = sp([b.x1, b.y1]);
    const text = s.prediction && s.confidence != null ? `${s.label} ${(s.confidence * 100).toFixed(0)}%` : s.label;
    const tw = Math.max(24, text.length * 7 + 10);
    return (
      <g key={`${s.prediction ? 'p' : 's'}${s.key}`} data-shape-index={s.prediction ? undefined : i} data-shape-type={s.type} data-label={s.label}>
        {el}
        {text && (
          <g transform={`translate(${lx}, ${Math.max(0, ly - 18)})`} pointerEvents="none">
            <rect width={tw} height={17} rx={3} fill={stroke} opacity={s.prediction ? 0.75 : 0.92} />
            <text x={5} y={12.5} fontSize={11.5} fontWeight={600} fill="#fff" fontFamily="Inter, Segoe UI, sans-serif">
              {text}
            </text>
          </g>
        )}
        {isSel &&
          handlesOf(data).map((h, k) => {
            const [hx, hy] = sp(h);
            return <rect key={k} x={hx - 4.5} y={hy - 4.5} width={9} height={9} rx={2} fill="#fff" stroke={stroke} strokeWidth={2} />;
          })}
      </g>
    );
  };

  let preview: React.ReactNode = null;
  if (drag?.kind === 'draw') {
    const d = shapeFromDrag(drag.type, drag.start, drag.current, iw, ih, 0);
    if (d) preview = renderShape({ key: 'draft', type: drag.type, data: d, label: '', color: drawColor }, d, false, -1);
  }
  if (draft.length) {
    const pts = [...draft, ...(hover ? [hover] : [])].map(sp);
    const [fx, fy] = sp(draft[0]);
    preview = (
      <g pointerEvents="none">
        <polyline points={pts.map((q) => q.join(',')).join(' ')} fill={`${drawColor}22`} stroke={drawColor} strokeWidth={2} strokeDasharray="4 3" />
        {draft.map((q, k) => {
          const [x, y] = sp(q);
          return <circle key={k} cx={x} cy={y} r={k === 0 && draft.length >= 3 ? 6 : 3.5} fill={k === 0 ? '#fff' : drawColor} stroke={drawColor} strokeWidth={2} />;
        })}
        {draft.length >= 3 && <circle cx={fx} cy={fy} r={10} fill="none" stroke={drawColor} strokeOpacity={0.4} />}
      </g>
    );
  }

  let cursor = 'default';
  if (drag?.kind === 'pan' || spaceDown) cursor = drag?.kind === 'pan' ? 'grabbing' : 'grab';
  else if (tool !== 'select' && !readOnly) cursor = 'crosshair';
  else if (hover && !readOnly) {
    const hit = hitTest(shapes, hover, tol, selected);
    cursor = hit?.part === 'handle' ? 'pointer' : hit ? 'move' : 'grab';
  }

  const [x0, y0] = sp([0, 0]);
  return (
    <Box
      ref={box}
      tabIndex={0}
      data-testid="annotation-canvas"
      aria-label="Annotation canvas"
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerUp}
      onPointerLeave={() => setHover(null)}
      onDoubleClick={onDoubleClick}
      onContextMenu={(e) => e.preventDefault()}
      sx={{
        position: 'relative',
        flex: 1,
        minHeight: 0,
        overflow: 'hidden',
        outline: 'none',
        cursor,
        userSelect: 'none',
        touchAction: 'none',
        backgroundColor: '#1b1f2c',
        backgroundImage: 'linear-gradient(45deg, #222738 25%, transparent 25%), linear-gradient(-45deg, #222738 25%, transparent 25%), linear-gradient(45deg, transparent 75%, #222738 75%), linear-gradient(-45deg, transparent 75%, #222738 75%)',
        backgroundSize: '24px 24px',
        backgroundPosition: '0 0, 0 12px, 12px -12px, -12px 0px',
      }}
    >
      <svg width={size.w} height={size.h} style={{ display: 'block' }}>
        {imageUrl && <image href={imageUrl} x={x0} y={y0} width={iw * view.scale} height={ih * view.scale} preserveAspectRatio="none" style={{ imageRendering: view.scale > 3 ? 'pixelated' : 'auto' }} />}
        {!imageUrl && <rect x={x0} y={y0} width={iw * view.scale} height={ih * view.scale} fill="#2a3042" />}
        <rect x={x0} y={y0} width={iw * view.scale} height={ih * view.scale} fill="none" stroke="rgba(255,255,255,0.25)" />
        {shapes.map((s, i) => (i === selected ? null : renderShape(s, shown(i, s), false, i)))}
        {overlay.map((s, i) => renderShape(s, s.data, false, i))}
        {selected !== null && shapes[selected] && renderShape(shapes[selected], shown(selected, shapes[selected]), true, selected)}
        {preview}
      </svg>
    </Box>
  );
}
