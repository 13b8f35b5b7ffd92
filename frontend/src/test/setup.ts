import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach, vi } from 'vitest';

afterEach(() => {
  cleanup();
  localStorage.clear();
});

// jsdom has no ResizeObserver; components that measure themselves get a no-op.
if (!('ResizeObserver' in globalThis)) {
  (globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}

// jsdom has no PointerEvent: a MouseEvent with the pointer fields is enough for our handlers.
if (!('PointerEvent' in globalThis)) {
  class PointerEventPolyfill extends MouseEvent {
    pointerId: number;
    pointerType: string;
    constructor(type: string, init: PointerEventInit = {}) {
      super(type, init);
      this.pointerId = init.pointerId ?? 1;
      this.pointerType = init.pointerType ?? 'mouse';
    }
  }
  (globalThis as unknown as { PointerEvent: unknown }).PointerEvent = PointerEventPolyfill;
}

// WebSocket readyState constants are read by the socket module.
if (!('WebSocket' in globalThis)) {
  (globalThis as unknown as { WebSocket: unknown }).WebSocket = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };
}

// jsdom has no canvas: chart.js cannot draw there. Charts become a plain element that shows
// what they were given; what the UI computes for them is what component tests check.
vi.mock('react-chartjs-2', async () => {
  const React = await import('react');
  return {
    Line: ({ data }: { data: { labels?: unknown[]; datasets: { label?: string }[] } }) =>
      React.createElement('canvas', { 'data-labels': (data.labels ?? []).length, 'data-series': data.datasets.map((d) => d.label).join('|') }),
  };
});
