import { act, renderHook } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '@/api/queries';
import { setToken } from '@/api/session';
import { FakeSocket } from '@/test/fakeSocket';
import type { LiveJobState } from './jobEvents';
import { setSocketFactory } from './socket';
import { useTrainingWebSocket } from './useTrainingWebSocket';

function setup(jobId = 12) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={qc}>{children}</QueryClientProvider>;
  const hook = renderHook(() => useTrainingWebSocket(jobId), { wrapper });
  const live = () => qc.getQueryData<LiveJobState>(keys.jobMetrics(jobId))!;
  return { qc, hook, live };
}

const epoch = (seq: number, e: number) => ({ seq, type: 'epoch_complete', epoch: e, total_epochs: 3, metrics: { map50: e / 10 }, epoch_time_seconds: 1.5 });

describe('useTrainingWebSocket', () => {
  let restore: ReturnType<typeof setSocketFactory>;
  beforeEach(() => {
    FakeSocket.reset();
    restore = setSocketFactory((url) => new FakeSocket(url) as unknown as WebSocket);
    vi.useFakeTimers();
    setToken('secret-token');
    // The REST job refresh on reconnect is not under test here.
    vi.stubGlobal('fetch', vi.fn(() => new Promise(() => {})));
  });
  afterEach(() => {
    setSocketFactory(restore);
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('connects with the token, applies events to the metrics query and exposes the state', () => {
    const { hook, live } = setup();
    const s = FakeSocket.last();
    const url = new URL(s.url);
    expect(url.protocol).toBe('ws:');
    expect(url.pathname).toBe('/api/v1/training/ws/12');
    expect(url.searchParams.get('token')).toBe('secret-token');
    expect(url.searchParams.has('since')).toBe(false);
    act(() => {
      s.open();
      s.send({ seq: 1, type: 'status_change', status: 'training' });
      s.send(epoch(2, 1));
    });
    expect(hook.result.current.connection).toBe('open');
    expect(hook.result.current.state.epochs).toHaveLength(1);
    expect(live().lastSeq).toBe(2);
    hook.unmount();
    expect(s.closedByClient).not.toBeNull();
  });

  it('resumes after a drop with ?since=<last seq> and does not duplicate the replay', () => {
    const { hook, live } = setup();
    act(() => {
      FakeSocket.last().open();
      FakeSocket.last().send({ seq: 1, type: 'status_change', status: 'training' });
      FakeSocket.last().send(epoch(2, 1));
      FakeSocket.last().drop();
    });
    expect(hook.result.current.connection).toBe('reconnecting');
    act(() => vi.advanceTimersByTime(600));
    const again = FakeSocket.last();
    expect(FakeSocket.all).toHaveLength(2);
    expect(new URL(again.url).searchParams.get('since')).toBe('2');
    act(() => {
      again.open();
      // A server may resend the last event it is unsure we got.
      again.send(epoch(2, 1));
      again.send(epoch(3, 2));
    });
    expect(live().epochs.map((e) => e.epoch)).toEqual([1, 2]);
    hook.unmount();
  });

  it('on a gap reconnects at once from the last contiguous seq and fills it', () => {
    const { hook, live } = setup();
    const first = FakeSocket.last();
    act(() => {
      first.open();
      first.send({ seq: 1, type: 'status_change', status: 'training' });
      first.send(epoch(4, 3)); // 2 and 3 went missing
    });
    expect(FakeSocket.all).toHaveLength(2);
    const second = FakeSocket.last();
    expect(new URL(second.url).searchParams.get('since')).toBe('1');
    act(() => {
      second.open();
      second.send(epoch(2, 1));
      second.send(epoch(3, 2));
      second.send(epoch(4, 3));
    });
    expect(live().lastSeq).toBe(4);
    expect(live().pending).toHaveLength(0);
    expect(live().epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    hook.unmount();
  });

  it('accepts a gap the server cannot fill instead of reconnecting forever', () => {
    const { hook, live } = setup();
    act(() => {
      FakeSocket.last().open();
      FakeSocket.last().send({ seq: 1, type: 'status_change', status: 'training' });
      FakeSocket.last().send(epoch(4, 3));
    });
    const second = FakeSocket.last();
    act(() => {
      second.open();
      second.send(epoch(4, 3)); // the server's history starts after the gap
      second.send(epoch(5, 4));
    });
    expect(FakeSocket.all).toHaveLength(2);
    expect(live().lastSeq).toBe(5);
    expect(live().epochs.map((e) => e.epoch)).toEqual([3, 4]);
    // The REST history is asked for to fill the missing epochs.
    expect(vi.mocked(fetch).mock.calls.some(([u]) => String(u).endsWith('/training/jobs/12/metrics'))).toBe(true);
    hook.unmount();
  });

  it('does not retry when the host refuses the token or the job (1008)', () => {
    const { hook, qc } = setup();
    const invalidate = vi.spyOn(qc, 'invalidateQueries');
    act(() => FakeSocket.last().drop(1008));
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.all).toHaveLength(1);
    expect(hook.result.current.connection).toBe('closed');
    // The page's REST job query is re-checked: a 401 there ends the session with a message.
    expect(invalidate).toHaveBeenCalledWith({ queryKey: ['jobs', 12], exact: true });
    hook.unmount();
  });

  it('stops reconnecting once the job has finished', () => {
    const { hook } = setup();
    act(() => {
      FakeSocket.last().open();
      FakeSocket.last().send({ seq: 1, type: 'training_complete', final_metrics: { map50: 0.5 }, model_id: 3 });
      FakeSocket.last().drop(1000);
    });
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.all).toHaveLength(1);
    expect(hook.result.current.state.status).toBe('completed');
    expect(hook.result.current.state.modelId).toBe(3);
    expect(hook.result.current.connection).toBe('closed');
    hook.unmount();
  });
});
