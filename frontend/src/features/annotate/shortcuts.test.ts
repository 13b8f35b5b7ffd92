import { describe, expect, it } from 'vitest';
import { commandForKey, isTypingTarget, SHORTCUTS } from './shortcuts';

describe('commandForKey', () => {
  it('maps the documented keys', () => {
    expect(commandForKey({ key: 'b' }, false)).toEqual({ kind: 'tool', tool: 'box' });
    expect(commandForKey({ key: 'C' }, false)).toEqual({ kind: 'tool', tool: 'circle' });
    expect(commandForKey({ key: 'p' }, false)).toEqual({ kind: 'tool', tool: 'polygon' });
    expect(commandForKey({ key: 'v' }, false)).toEqual({ kind: 'tool', tool: 'select' });
    expect(commandForKey({ key: '1' }, false)).toEqual({ kind: 'class', index: 0 });
    expect(commandForKey({ key: '9' }, false)).toEqual({ kind: 'class', index: 8 });
    expect(commandForKey({ key: '0' }, false)).toEqual({ kind: 'fit' });
    expect(commandForKey({ key: 'Delete' }, false)).toEqual({ kind: 'delete' });
    expect(commandForKey({ key: 'Escape' }, true)).toEqual({ kind: 'cancel' });
    expect(commandForKey({ key: '+' }, false)).toEqual({ kind: 'zoom', factor: 1.25 });
    expect(commandForKey({ key: '-' }, false)).toEqual({ kind: 'zoom', factor: 0.8 });
    expect(commandForKey({ key: 'ArrowLeft' }, false)).toEqual({ kind: 'image', step: -1 });
    expect(commandForKey({ key: 'ArrowRight' }, false)).toEqual({ kind: 'image', step: 1 });
  });

  it('gives Backspace and Enter their drawing meaning while a polygon is open', () => {
    expect(commandForKey({ key: 'Backspace' }, true)).toEqual({ kind: 'undoPoint' });
    expect(commandForKey({ key: 'Backspace' }, false)).toEqual({ kind: 'delete' });
    expect(commandForKey({ key: 'Enter' }, true)).toEqual({ kind: 'finish' });
    expect(commandForKey({ key: 'Enter' }, false)).toBeNull();
  });

  it('Shift+digit sets the image class, on any keyboard layout', () => {
    expect(commandForKey({ key: '!', code: 'Digit1', shiftKey: true }, false)).toEqual({ kind: 'imageClass', index: 0 });
    expect(commandForKey({ key: '&', code: 'Digit1', shiftKey: true }, false)).toEqual({ kind: 'imageClass', index: 0 });
    expect(commandForKey({ key: '1', code: 'Digit1' }, false)).toEqual({ kind: 'class', index: 0 });
  });

  it('Ctrl/Cmd+Z undoes', () => {
    expect(commandForKey({ key: 'z', ctrlKey: true }, false)).toEqual({ kind: 'undo' });
    expect(commandForKey({ key: 'Z', metaKey: true }, false)).toEqual({ kind: 'undo' });
    expect(commandForKey({ key: 'z', ctrlKey: true, shiftKey: true }, false)).toBeNull();
  });

  it('leaves browser shortcuts alone', () => {
    expect(commandForKey({ key: 'c', ctrlKey: true }, false)).toBeNull();
    expect(commandForKey({ key: 'v', metaKey: true }, false)).toBeNull();
    expect(commandForKey({ key: 'x' }, false)).toBeNull();
  });

  it('the help lists every tool key', () => {
    const keys = SHORTCUTS.map((s) => s.keys).join(' ');
    for (const k of ['V', 'B', 'C', 'P', 'Esc', '1 – 9', 'Del']) expect(keys).toContain(k);
  });
});

describe('isTypingTarget', () => {
  it('is true for text inputs and false for buttons and the canvas', () => {
    const text = document.createElement('input');
    const box = document.createElement('input');
    box.type = 'checkbox';
    const div = document.createElement('div');
    expect(isTypingTarget(text)).toBe(true);
    expect(isTypingTarget(document.createElement('textarea'))).toBe(true);
    expect(isTypingTarget(box)).toBe(false);
    expect(isTypingTarget(div)).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });
});
