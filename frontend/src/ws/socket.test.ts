import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '@/test/fakeSocket';
import { openStreamCount, reconnectNow, setSocketFactory, streamInfo, subscribe } from './socket';

describe('shared sockets', () => {
  let restore: ReturnType<typeof setSocketFactory>;
  beforeEach(() => {
    FakeSocket.reset();
    restore = setSocketFactory((url) => new FakeSocket(url) as unknown as WebSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    setSocketFactory(restore);
    vi.useRealTimers();
  });

  it('opens one socket for two listeners of the same key, even in the same tick', () => {
    const a = vi.fn();
    const b = vi.fn();
    const offA = subscribe({ key: 'job:1', url: () => 'ws://x/1' }, { onMessage: a });
    const offB = subscribe({ key: 'job:1', url: () => 'ws://x/1' }, { onMessage: b });
    expect(FakeSocket.all).toHaveLength(1);
    expect(streamInfo('job:1')?.listeners).toBe(2);
    FakeSocket.last().open();
    FakeSocket.last().send({ type: 'status_change', seq: 1 });
    expect(a).toHaveBeenCalledWith({ type: 'status_change', seq: 1 });
    expect(b).toHaveBeenCalledWith({ type: 'status_change', seq: 1 });
    offA();
    offB();
  });

  it('closes the socket when the last listener leaves, not before', () => {
    const offA = subscribe({ key: 'k', url: () => 'ws://x' }, { onMessage: () => {} });
    const offB = subscribe({ key: 'k', url: () => 'ws://x' }, { onMessage: () => {} });
    const s = FakeSocket.last();
    s.open();
    offA();
    expect(s.closedByClient).toBeNull();
    expect(openStreamCount()).toBe(1);
    offB();
    expect(s.closedByClient).toEqual({ code: 1000, reason: 'no listeners' });
    expect(openStreamCount()).toBe(0);
    // Closing ourselves must not schedule a reconnect.
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('reconnects with backoff after a drop, asking for the URL again', () => {
    let since = 0;
    const statuses: string[] = [];
    const off = subscribe({ key: 'r', url: () => `ws://x?since=${since}`, initialDelayMs: 100, maxDelayMs: 1000 }, { onMessage: () => {}, onStatus: (s) => statuses.push(s) });
    FakeSocket.last().open();
    since = 5;
    FakeSocket.last().drop();
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting']);
    vi.advanceTimersByTime(99);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(FakeSocket.last().url).toBe('ws://x?since=5');
    // A failed attempt doubles the delay.
    FakeSocket.last().drop();
    vi.advanceTimersByTime(199);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
    // Success resets the backoff.
    FakeSocket.last().open();
    FakeSocket.last().drop();
    vi.advanceTimersByTime(100);
    expect(FakeSocket.all).toHaveLength(4);
    off();
  });

  it('stops when shouldReconnect says no, and after maxAttempts', () => {
    const statuses: string[] = [];
    const off = subscribe({ key: 's', url: () => 'ws://x', shouldReconnect: () => false }, { onMessage: () => {}, onStatus: (s) => statuses.push(s) });
    FakeSocket.last().open();
    FakeSocket.last().drop(1000);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(statuses.at(-1)).toBe('closed');
    off();

    const off2 = subscribe({ key: 'm', url: () => 'ws://y', maxAttempts: 2, initialDelayMs: 10 }, { onMessage: () => {} });
    FakeSocket.last().drop();
    vi.advanceTimersByTime(10);
    FakeSocket.last().drop();
    vi.advanceTimersByTime(20);
    FakeSocket.last().drop();
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.all.filter((s) => s.url === 'ws://y')).toHaveLength(3);
    expect(streamInfo('m')?.status).toBe('closed');
    off2();
  });

  it('a late listener learns the current status', () => {
    const off = subscribe({ key: 'late', url: () => 'ws://x' }, { onMessage: () => {} });
    FakeSocket.last().open();
    const statuses: string[] = [];
    const off2 = subscribe({ key: 'late', url: () => 'ws://x' }, { onMessage: () => {}, onStatus: (s) => statuses.push(s) });
    expect(statuses).toEqual(['open']);
    off();
    off2();
  });

  it('reconnectNow replaces the socket at once, keeps listeners and ignores the old one', () => {
    let n = 0;
    const msgs: unknown[] = [];
    const off = subscribe({ key: 'now', url: () => `ws://x/${++n}` }, { onMessage: (m) => msgs.push(m) });
    const first = FakeSocket.last();
    first.open();
    reconnectNow('now');
    expect(first.closedByClient?.reason).toBe('resync');
    const second = FakeSocket.last();
    expect(second.url).toBe('ws://x/2');
    first.send({ stale: true }); // late message from the old socket
    second.open();
    second.send({ fresh: true });
    expect(msgs).toEqual([{ fresh: true }]);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(2);
    off();
  });

  it('ignores non-JSON frames', () => {
    const got = vi.fn();
    const off = subscribe({ key: 'j', url: () => 'ws://x' }, { onMessage: got });
    FakeSocket.last().onmessage?.({ data: 'not json' } as MessageEvent);
    expect(got).not.toHaveBeenCalled();
    off();
  });
});
