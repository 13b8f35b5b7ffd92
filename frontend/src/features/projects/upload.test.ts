import { describe, expect, it } from 'vitest';
import { ApiError } from '@/api/client';
import { batchIndices, batchOutcome, isImageFile, planFiles, rejectedFile, summarize } from './upload';

const file = (name: string, size = 10, type = '') => new File([new Uint8Array(size)], name, { type });

describe('upload planning', () => {
  it('accepts images by type or extension and rejects the rest with a reason', () => {
    expect(isImageFile(file('a.JPG'))).toBe(true);
    expect(isImageFile(file('scan', 1, 'image/png'))).toBe(true);
    expect(isImageFile(file('notes.txt', 1, 'text/plain'))).toBe(false);
    const items = planFiles([file('a.png'), file('b.txt')]);
    expect(items[0].state).toEqual({ kind: 'queued' });
    expect(items[1].state).toMatchObject({ kind: 'error', reason: expect.stringMatching(/Not an image/) });
  });

  it('batches queued files by count and by bytes', () => {
    const items = planFiles([file('1.png', 10), file('2.png', 10), file('x.txt'), file('3.png', 10), file('4.png', 50), file('5.png', 10)]);
    expect(batchIndices(items, 2, 1000)).toEqual([[0, 1], [3, 4], [5]]);
    expect(batchIndices(items, 10, 35)).toEqual([[0, 1, 3], [4], [5]]);
  });

  it('maps the server answer back to each file: skipped by name, created in order', () => {
    const files = [file('a.png'), file('b.png'), file('a.png'), file('c.png')];
    const states = batchOutcome(files, {
      images: [{ id: 11 }, { id: 12 }] as never,
      skipped: [{ filename: 'b.png', reason: 'not a decodable image' }, { filename: 'a.png', reason: 'duplicate of image 11' }],
    });
    expect(states).toEqual([
      { kind: 'error', reason: 'duplicate of image 11' },
      { kind: 'error', reason: 'not a decodable image' },
      { kind: 'done', imageId: 11 },
      { kind: 'done', imageId: 12 },
    ]);
    expect(batchOutcome([file('z.png')], { images: [], skipped: [] })[0]).toMatchObject({ kind: 'error' });
  });

  it('summarizes', () => {
    const items = planFiles([file('a.png'), file('b.txt')]);
    expect(summarize(items)).toEqual({ total: 2, done: 0, failed: 1, queued: 1 });
  });
});

describe('rejectedFile', () => {
  it('finds the file the host named when it refused the batch', () => {
    const files = [file('a.png'), file('broken.png'), file('c.png')];
    const err = new ApiError(422, 'unprocessable', 'broken.png: not a PNG, JPEG, … image', { field: 'files', filename: 'broken.png', reason: 'not a PNG, JPEG, … image' });
    expect(rejectedFile(err, files)).toEqual({ index: 1, reason: 'not a PNG, JPEG, … image' });
    expect(rejectedFile(new ApiError(422, 'x', 'm', { field: 'files', filename: 'other.png' }), files)).toBeNull();
    expect(rejectedFile(new ApiError(413, 'too_large', 'too big'), files)).toBeNull();
    expect(rejectedFile(new Error('boom'), files)).toBeNull();
  });
});
