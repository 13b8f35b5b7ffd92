// The annotation view's keyboard shortcuts: one table, used both to handle keys and to show
// the help, so the two never disagree.

export type Tool = 'select' | 'box' | 'circle' | 'polygon';

export type Command =
  | { kind: 'tool'; tool: Tool }
  | { kind: 'delete' }
  | { kind: 'cancel' }
  | { kind: 'finish' }
  | { kind: 'class'; index: number }
  | { kind: 'imageClass'; index: number }
  | { kind: 'zoom'; factor: number }
  | { kind: 'fit' }
  | { kind: 'image'; step: -1 | 1 }
  | { kind: 'undoPoint' }
  | { kind: 'undo' }
  | { kind: 'help' };

export const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: 'V', what: 'Select, move and edit shapes' },
  { keys: 'B', what: 'Draw a box' },
  { keys: 'C', what: 'Draw a circle' },
  { keys: 'P', what: 'Draw a polygon (click points; click the first point, Enter or double-click to close)' },
  { keys: '1 – 9', what: 'Pick a class (and give it to the selected shape)' },
  { keys: 'Shift + 1 – 9', what: 'Set the image class (classification), then go to the next image' },
  { keys: 'Del / Backspace', what: 'Delete the selected shape (Backspace removes the last point while drawing a polygon)' },
  { keys: 'Esc', what: 'Cancel drawing, then clear the selection' },
  { keys: '+ / −', what: 'Zoom in / out (or the mouse wheel)' },
  { keys: '0', what: 'Fit the image to the window' },
  { keys: '← / →', what: 'Previous / next image' },
  { keys: 'Space + drag', what: 'Pan (or drag with the middle mouse button)' },
  { keys: 'Alt + click', what: 'On a polygon vertex: remove it. Double-click an edge: add a vertex' },
  { keys: 'Ctrl + Z', what: 'Undo the last change (drawn, moved, re-classed or deleted shape)' },
  { keys: '?', what: 'Show these shortcuts' },
];

export interface KeyLike {
  key: string;
  /** The physical key (`Digit1`), for Shift+digit whatever the keyboard layout. */
  code?: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/** The command for a key press, or null when the key is not a shortcut here. */
export function commandForKey(e: KeyLike, drawing: boolean): Command | null {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'z') return { kind: 'undo' };
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const digit = /^Digit([1-9])$/.exec(e.code ?? '');
  if (e.shiftKey && digit) return { kind: 'imageClass', index: Number(digit[1]) - 1 };
  const k = e.key;
  switch (k.toLowerCase()) {
    case 'v':
      return { kind: 'tool', tool: 'select' };
    case 'b':
      return { kind: 'tool', tool: 'box' };
    case 'c':
      return { kind: 'tool', tool: 'circle' };
    case 'p':
      return { kind: 'tool', tool: 'polygon' };
  }
  if (/^[1-9]$/.test(k)) return { kind: 'class', index: Number(k) - 1 };
  switch (k) {
    case 'Delete':
      return { kind: 'delete' };
    case 'Backspace':
      return drawing ? { kind: 'undoPoint' } : { kind: 'delete' };
    case 'Escape':
      return { kind: 'cancel' };
    case 'Enter':
      return drawing ? { kind: 'finish' } : null;
    case '+':
    case '=':
      return { kind: 'zoom', factor: 1.25 };
    case '-':
    case '_':
      return { kind: 'zoom', factor: 0.8 };
    case '0':
      return { kind: 'fit' };
    case 'ArrowLeft':
      return { kind: 'image', step: -1 };
    case 'ArrowRight':
      return { kind: 'image', step: 1 };
    case '?':
      return { kind: 'help' };
  }
  return null;
}

/** True when keys go to a text field, a select or a slider rather than to the canvas. */
export function isTypingTarget(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (el as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'range'].includes(type);
  }
  return el.getAttribute('role') === 'slider' || el.getAttribute('role') === 'combobox';
}
