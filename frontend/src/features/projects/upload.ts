// Planning an upload of many images: which files to send (images only), in which batches
// (a few files per request, so progress moves and one bad batch does not sink the rest), and
// what became of each file once the server answered.

import { ApiError } from '@/api/client';
import type { UploadResult } from '@/api/types';

export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'bmp', 'webp', 'tif', 'tiff', 'gif'];

export type FileState =
  | { kind: 'queued' }
  | { kind: 'uploading' }
  | { kind: 'done'; imageId?: number }
  | { kind: 'error'; reason: string };

export interface UploadItem {
  file: File;
  state: FileState;
}

export function isImageFile(f: { name: string; type: string }): boolean {
  if (f.type.startsWith('image/')) return true;
  const ext = f.name.split('.').pop()?.toLowerCase() ?? '';
  return IMAGE_EXTENSIONS.includes(ext);
}

/** Files to upload, and the others rejected up front with the reason. */
export function planFiles(files: File[]): UploadItem[] {
  return files.map((file) =>
    isImageFile(file)
      ? { file, state: { kind: 'queued' } }
      : { file, state: { kind: 'error', reason: 'Not an image (use JPEG, PNG, BMP, WebP or TIFF).' } },
  );
}

/** Indices of queued items grouped into batches of at most `maxFiles` files and `maxBytes` bytes. */
export function batchIndices(items: UploadItem[], maxFiles = 8, maxBytes = 32 * 1024 * 1024): number[][] {
  const batches: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  items.forEach((it, i) => {
    if (it.state.kind !== 'queued') return;
    if (cur.length && (cur.length >= maxFiles || bytes + it.file.size > maxBytes)) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(i);
    bytes += it.file.size;
  });
  if (cur.length) batches.push(cur);
  return batches;
}

/**
 * What each file of a batch became: skipped files (matched by name) carry the server's
 * reason; the others took the created images in order.
 */
export function batchOutcome(files: File[], result: UploadResult): FileState[] {
  const skipped = new Map<string, string[]>();
  for (const s of result.skipped) skipped.set(s.filename, [...(skipped.get(s.filename) ?? []), s.reason]);
  const created = [...result.images];
  return files.map((f) => {
    const reasons = skipped.get(f.name);
    if (reasons?.length) {
      const reason = reasons.shift()!;
      return { kind: 'error', reason };
    }
    const img = created.shift();
    return img ? { kind: 'done', imageId: img.id } : { kind: 'error', reason: 'The server did not store this file.' };
  });
}

export function summarize(items: UploadItem[]): { total: number; done: number; failed: number; queued: number } {
  let done = 0;
  let failed = 0;
  let queued = 0;
  for (const it of items) {
    if (it.state.kind === 'done') done++;
    else if (it.state.kind === 'error') failed++;
    else queued++;
  }
  return { total: items.length, done, failed, queued };
}

/**
 * The host refuses a whole request when one file is not a decodable image, naming it in the
 * 422's `details` (`{field: "files", filename, reason}`). Returns which file of the batch it
 * was and why, so the rest can be sent again without it; null for any other failure.
 */
export function rejectedFile(err: unknown, files: { name: string }[]): { index: number; reason: string } | null {
  if (!(err instanceof ApiError) || err.status !== 422) return null;
  const d = err.details as { filename?: unknown; reason?: unknown } | null;
  if (!d || typeof d.filename !== 'string') return null;
  const index = files.findIndex((f) => f.name === d.filename);
  if (index < 0) return null;
  return { index, reason: typeof d.reason === 'string' ? d.reason : err.message };
}
