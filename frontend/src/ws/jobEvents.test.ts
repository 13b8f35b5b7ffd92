import { describe, expect, it } from 'vitest';
import type { JobEvent, TrainingJob } from '@/api/types';
import { acceptGap, applyEvent, applyEvents, hasGap, initialLiveState, normalizeMetrics, parseJobEvent, statusActivity, withHistory, withJob } from './jobEvents';

const ev = {
  status: (seq: number, status: 'preparing' | 'training' | 'completed' | 'cancelled'): JobEvent => ({ seq, type: 'status_change', status }),
  start: (seq: number, epoch: number, total = 3): JobEvent => ({ seq, type: 'epoch_start', epoch, total_epochs: total }),
  batch: (seq: number, epoch: number, batch: number, total_batches = 4): JobEvent => ({ seq, type: 'batch_progress', epoch, batch, total_batches, loss: 1 / batch }),
  done: (seq: number, epoch: number, map50: number, t = 2): JobEvent => ({
    seq,
    type: 'epoch_complete',
    epoch,
    metrics: { map50, train_box_loss: 2 - map50, val_box_loss: 2.1 - map50 },
    epoch_time_seconds: t,
  }),
};

describe('applyEvent', () => {
  it('follows a run from queued to completed', () => {
    const s = applyEvents(initialLiveState(9), [
      ev.status(1, 'preparing'),
      ev.status(2, 'training'),
      ev.start(3, 1),
      ev.batch(4, 1, 2),
      ev.done(5, 1, 0.1),
      ev.start(6, 2),
      ev.done(7, 2, 0.3),
      { seq: 8, type: 'training_complete', final_metrics: { map50: 0.3 }, model_id: 42 },
    ]);
    expect(s.lastSeq).toBe(8);
    expect(s.status).toBe('completed');
    expect(s.modelId).toBe(42);
    expect(s.finalMetrics).toEqual({ map50: 0.3 });
    expect(s.progressPercent).toBe(100);
    expect(s.epochs.map((e) => [e.epoch, e.metrics.map50])).toEqual([
      [1, 0.1],
      [2, 0.3],
    ]);
    expect(s.batch).toBeNull();
  });

  it('tracks batch progress within an epoch', () => {
    const s = applyEvents(initialLiveState(1), [ev.status(1, 'training'), ev.start(2, 2, 4), ev.batch(3, 2, 2, 4)]);
    expect(s.batch).toEqual({ epoch: 2, batch: 2, total_batches: 4, loss: 0.5 });
    // 1 epoch done + half of the second, out of 4.
    expect(s.progressPercent).toBeCloseTo(37.5);
  });

  it('drops duplicates: a replay overlapping what was applied changes nothing', () => {
    const events = [ev.status(1, 'training'), ev.start(2, 1), ev.done(3, 1, 0.2)];
    const once = applyEvents(initialLiveState(1), events);
    const twice = applyEvents(once, events);
    expect(twice).toBe(once);
    expect(twice.epochs).toHaveLength(1);
  });

  it('holds events ahead of a gap and applies them in order once it is filled', () => {
    let s = applyEvents(initialLiveState(1), [ev.status(1, 'training'), ev.start(2, 1)]);
    s = applyEvent(s, ev.done(5, 2, 0.5));
    s = applyEvent(s, ev.start(4, 2));
    expect(hasGap(s)).toBe(true);
    expect(s.lastSeq).toBe(2);
    expect(s.epochs).toHaveLength(0);
    expect(s.pending.map((p) => p.seq)).toEqual([4, 5]);
    // The same early event again while waiting: still one copy.
    s = applyEvent(s, ev.start(4, 2));
    expect(s.pending).toHaveLength(2);
    s = applyEvent(s, ev.done(3, 1, 0.1));
    expect(hasGap(s)).toBe(false);
    expect(s.lastSeq).toBe(5);
    expect(s.epochs.map((e) => e.epoch)).toEqual([1, 2]);
  });

  it('acceptGap applies what is pending when the missing events are gone for good', () => {
    let s = applyEvents(initialLiveState(1), [ev.status(1, 'training'), ev.done(4, 3, 0.4), ev.done(6, 5, 0.6)]);
    s = acceptGap(s);
    // 4 applied, 5 still missing → 6 waits again.
    expect(s.lastSeq).toBe(4);
    expect(s.pending.map((p) => p.seq)).toEqual([6]);
    s = acceptGap(s);
    expect(s.lastSeq).toBe(6);
    expect(s.epochs.map((e) => e.epoch)).toEqual([3, 5]);
    expect(acceptGap(s)).toBe(s);
  });

  it('an epoch completed twice (resumed job) keeps one row with the newer values', () => {
    const s = applyEvents(initialLiveState(1), [ev.done(1, 1, 0.1), ev.done(2, 2, 0.2), { seq: 3, type: 'status_change', status: 'pending' }, ev.done(4, 2, 0.25)]);
    expect(s.epochs.map((e) => [e.epoch, e.metrics.map50])).toEqual([
      [1, 0.1],
      [2, 0.25],
    ]);
  });

  it('keeps what the job reported as activity', () => {
    const s = applyEvents(initialLiveState(1), [
      { seq: 1, type: 'status_change', status: 'preparing', message: 'Converting 40 images with yolo-detect 0.1.0' },
      { seq: 2, type: 'log', level: 'warning', message: 'No pretrained weights for yolov8n.pt: training from scratch' },
      { seq: 3, type: 'status_change', status: 'training' },
      { seq: 4, type: 'training_failed', error: 'out of memory' },
    ]);
    expect(s.activity.map((a) => [a.seq, a.level, a.message])).toEqual([
      [1, 'info', 'Preparing the dataset: Converting 40 images with yolo-detect 0.1.0'],
      [2, 'warning', 'No pretrained weights for yolov8n.pt: training from scratch'],
      [3, 'info', 'Training started'],
      [4, 'error', 'out of memory'],
    ]);
    // The server's own word for a step is not repeated after it.
    expect(statusActivity('pending', 'queued')).toBe('Queued');
    expect(statusActivity('cancelled', 'cancelled by a@b.c')).toBe('Cancelled: cancelled by a@b.c');
  });

  it('records a failure and its error', () => {
    const s = applyEvents(initialLiveState(1), [ev.status(1, 'training'), { seq: 2, type: 'training_failed', error: 'CUDA out of memory: lower the batch size' }]);
    expect(s.status).toBe('failed');
    expect(s.error).toMatch(/out of memory/);
  });

  it('a snapshot sets the state without consuming a sequence number', () => {
    const job = { id: 1, status: 'training', current_epoch: 3, total_epochs: 10, progress_percent: 30, task_type: 'detect', created_at: '', name: null } as TrainingJob;
    let s = applyEvent(initialLiveState(1), { seq: undefined as unknown as number, type: 'snapshot', job });
    expect(s.status).toBe('training');
    expect(s.totalEpochs).toBe(10);
    expect(s.lastSeq).toBe(0);
    s = applyEvent(s, ev.status(1, 'training'));
    expect(s.lastSeq).toBe(1);
  });

  it('skips unknown event types but keeps their place in the sequence', () => {
    const s = applyEvents(initialLiveState(1), [ev.status(1, 'training'), { seq: 2, type: 'something_new' } as unknown as JobEvent, ev.done(3, 1, 0.3)]);
    expect(s.lastSeq).toBe(3);
    expect(s.epochs).toHaveLength(1);
  });
});

describe('host event fields', () => {
  it('takes the formatter’s metric_info and the host’s progress_percent', () => {
    const s = applyEvents(initialLiveState(1), [
      { seq: 1, type: 'epoch_start', epoch: 1, total_epochs: 4 },
      { seq: 2, type: 'batch_progress', epoch: 1, batch: 3, total_batches: 10, progress_percent: 7.5 },
      {
        seq: 3,
        type: 'epoch_complete',
        epoch: 1,
        total_epochs: 4,
        metrics: { map50: 0.2, val_box_loss: 1.5, 'lr/pg0': 0.01 },
        metric_info: [
          { name: 'map50', label: 'mAP@0.5', group: 'quality', higher_is_better: true },
          { name: 'val_box_loss', label: 'val box', group: 'loss', higher_is_better: false },
          { name: 'lr/pg0', label: 'lr', group: 'learning_rate', higher_is_better: null },
        ],
        epoch_time_seconds: 3,
        fitness: 0.12,
        progress_percent: 25,
      },
    ]);
    expect(s.progressPercent).toBe(25);
    expect(s.metricMeta.map50).toEqual({ label: 'mAP@0.5', group: 'quality', higher_is_better: true });
    expect(s.metricMeta['lr/pg0'].higher_is_better).toBeNull();
    expect(s.epochs[0].metrics.fitness).toBe(0.12);
  });
});

describe('normalizeMetrics', () => {
  it('accepts a map or formatter rows and keeps their group and direction', () => {
    expect(normalizeMetrics({ map50: 0.5, bad: NaN } as Record<string, number>).values).toEqual({ map50: 0.5 });
    const { values, meta } = normalizeMetrics([
      { name: 'map50_95', value: 0.3, group: 'quality', higher_is_better: true, label: 'mAP50-95' },
      { name: 'val_box_loss', value: 1.2, group: 'loss', higher_is_better: false },
    ]);
    expect(values).toEqual({ map50_95: 0.3, val_box_loss: 1.2 });
    expect(meta.map50_95).toEqual({ group: 'quality', higher_is_better: true, label: 'mAP50-95' });
    expect(meta.val_box_loss.group).toBe('loss');
  });
});

describe('REST state', () => {
  it('withJob folds in the job record; withHistory fills epochs the stream did not deliver', () => {
    let s = withJob(initialLiveState(1), { id: 1, status: 'completed', current_epoch: 3, total_epochs: 3, progress_percent: 100, final_metrics: { map50: 0.7 }, model_id: 5, task_type: 'detect', created_at: '', name: 'x' });
    expect(s).toMatchObject({ status: 'completed', totalEpochs: 3, modelId: 5, progressPercent: 100, finalMetrics: { map50: 0.7 } });
    s = applyEvent(s, ev.done(7, 2, 0.6));
    s = acceptGap(s);
    s = withHistory(s, [
      { epoch: 1, metrics: { map50: 0.4 }, epoch_time_seconds: 3, train_loss: 2 },
      { epoch: 2, metrics: { map50: 0.0 } },
      { epoch: 3, metrics: { map50: 0.7 } },
    ]);
    expect(s.epochs.map((e) => [e.epoch, e.metrics.map50])).toEqual([
      [1, 0.4],
      [2, 0.6], // the live event wins over the stored row
      [3, 0.7],
    ]);
    expect(s.epochs[0].metrics.train_loss).toBe(2);
  });
});

describe('parseJobEvent', () => {
  it('accepts typed objects and rejects anything else', () => {
    expect(parseJobEvent({ type: 'epoch_start', seq: 1, epoch: 1 })).not.toBeNull();
    expect(parseJobEvent({ seq: 1 })).toBeNull();
    expect(parseJobEvent({ type: 'x', seq: '1' })).toBeNull();
    expect(parseJobEvent('hello')).toBeNull();
    expect(parseJobEvent(null)).toBeNull();
  });
});
