import { createRef } from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { AnnotationCanvas, type CanvasHandle, type CanvasShape } from './AnnotationCanvas';
import { cornersFromRect } from './geometry';

// In jsdom the viewport measures 0×0, so the view stays at scale 1 with no offset:
// client coordinates are image coordinates, which keeps these tests readable.
function setup(props: Partial<React.ComponentProps<typeof AnnotationCanvas>> = {}) {
  const onCreate = vi.fn();
  const onChange = vi.fn();
  const onSelect = vi.fn();
  const ref = createRef<CanvasHandle>();
  const utils = render(
    <AnnotationCanvas
      ref={ref}
      imageUrl={null}
      imageWidth={200}
      imageHeight={100}
      shapes={[]}
      selected={null}
      tool="box"
      drawColor="#f00"
      onSelect={onSelect}
      onCreate={onCreate}
      onChange={onChange}
      {...props}
    />,
  );
  const canvas = screen.getByTestId('annotation-canvas');
  const drag = (from: [number, number], to: [number, number], opts: { altKey?: boolean } = {}) => {
    fireEvent.pointerDown(canvas, { clientX: from[0], clientY: from[1], button: 0, pointerId: 1, ...opts });
    fireEvent.pointerMove(canvas, { clientX: (from[0] + to[0]) / 2, clientY: (from[1] + to[1]) / 2, pointerId: 1 });
    fireEvent.pointerMove(canvas, { clientX: to[0], clientY: to[1], pointerId: 1 });
    fireEvent.pointerUp(canvas, { clientX: to[0], clientY: to[1], pointerId: 1 });
  };
  const click = (p: [number, number]) => {
    fireEvent.pointerDown(canvas, { clientX: p[0], clientY: p[1], button: 0, pointerId: 1 });
    fireEvent.pointerUp(canvas, { clientX: p[0], clientY: p[1], pointerId: 1 });
  };
  return { ...utils, canvas, drag, click, onCreate, onChange, onSelect, ref };
}

const box = (x1: number, y1: number, x2: number, y2: number): CanvasShape => ({ key: `${x1}`, type: 'box', data: { corners: cornersFromRect([x1, y1], [x2, y2]) }, label: 'cat', color: '#00f' });

describe('AnnotationCanvas', () => {
  it('draws a box by dragging, clipped to the image', () => {
    const { drag, onCreate } = setup();
    drag([150, 80], [260, 20]);
    expect(onCreate).toHaveBeenCalledWith('box', { corners: cornersFromRect([150, 20], [200, 80]) });
  });

  it('ignores a click without a drag', () => {
    const { click, onCreate } = setup();
    click([50, 50]);
    expect(onCreate).not.toHaveBeenCalled();
  });

  it('draws a circle from its centre', () => {
    const { drag, onCreate } = setup({ tool: 'circle' });
    drag([50, 50], [53, 54]);
    expect(onCreate).toHaveBeenCalledWith('circle', { x: 50, y: 50, size: 5 });
  });

  it('draws a polygon point by point and closes it on the first point', () => {
    const { click, onCreate, ref } = setup({ tool: 'polygon' });
    click([10, 10]);
    click([60, 10]);
    expect(ref.current?.isDrawing()).toBe(true);
    click([60, 60]);
    click([11, 11]); // near the first point: closes
    expect(onCreate).toHaveBeenCalledWith('polygon', { points: [[10, 10], [60, 10], [60, 60]] });
    expect(ref.current?.isDrawing()).toBe(false);
  });

  it('undoes the last polygon point, finishes on request and cancels', () => {
    const { click, onCreate, ref } = setup({ tool: 'polygon' });
    click([10, 10]);
    click([60, 10]);
    click([99, 99]);
    act(() => ref.current?.undoPoint());
    click([60, 60]);
    act(() => ref.current?.finishDrawing());
    expect(onCreate).toHaveBeenCalledWith('polygon', { points: [[10, 10], [60, 10], [60, 60]] });
    click([5, 5]);
    let had = false;
    act(() => {
      had = ref.current!.cancelDrawing();
    });
    expect(had).toBe(true);
    expect(ref.current?.isDrawing()).toBe(false);
  });

  it('selects the shape under the pointer and moves it by dragging', () => {
    const { drag, onSelect, onChange } = setup({ tool: 'select', shapes: [box(10, 10, 50, 40)] });
    drag([20, 20], [30, 25]);
    expect(onSelect).toHaveBeenCalledWith(0);
    expect(onChange).toHaveBeenCalledWith(0, { corners: cornersFromRect([20, 15], [60, 45]) });
  });

  it('resizes a selected box by its corner handle', () => {
    const { drag, onChange } = setup({ tool: 'select', shapes: [box(10, 10, 50, 40)], selected: 0 });
    drag([50, 40], [70, 90]);
    expect(onChange).toHaveBeenCalledWith(0, { corners: cornersFromRect([10, 10], [70, 90]) });
  });

  it('clicking empty space clears the selection', () => {
    const { click, onSelect } = setup({ tool: 'select', shapes: [box(10, 10, 50, 40)], selected: 0 });
    click([150, 80]);
    expect(onSelect).toHaveBeenCalledWith(null);
  });

  it('Alt-click on a polygon vertex removes it', () => {
    const poly: CanvasShape = { key: 'p', type: 'polygon', data: { points: [[10, 10], [60, 10], [60, 60], [10, 60]] }, label: 'x', color: '#0f0' };
    const { canvas, onChange } = setup({ tool: 'select', shapes: [poly], selected: 0 });
    fireEvent.pointerDown(canvas, { clientX: 60, clientY: 60, button: 0, altKey: true, pointerId: 1 });
    fireEvent.pointerUp(canvas, { clientX: 60, clientY: 60, pointerId: 1 });
    expect(onChange).toHaveBeenCalledWith(0, { points: [[10, 10], [60, 10], [10, 60]] });
  });

  it('read-only canvases never edit', () => {
    const { drag, onCreate, onChange } = setup({ readOnly: true, tool: 'select', shapes: [box(10, 10, 50, 40)] });
    drag([20, 20], [30, 25]);
    expect(onCreate).not.toHaveBeenCalled();
    expect(onChange).not.toHaveBeenCalled();
  });

  it('draws labels and prediction confidences', () => {
    const pred: CanvasShape = { ...box(100, 10, 150, 50), key: 'p1', prediction: true, confidence: 0.873, label: 'dog' };
    setup({ shapes: [box(10, 10, 50, 40)], overlay: [pred] });
    expect(screen.getByText('cat')).toBeInTheDocument();
    expect(screen.getByText('dog 87%')).toBeInTheDocument();
  });
});
