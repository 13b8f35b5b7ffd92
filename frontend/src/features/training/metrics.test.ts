import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '@/ws/jobEvents';
import { bestEpoch, etaSeconds, headline, lossNames, metricLabel, qualityNames, series, startsHidden } from './metrics';

const epochs: EpochRecord[] = [
  { epoch: 1, metrics: { train_box_loss: 2, val_box_loss: 2.2, train_cls_loss: 3, val_cls_loss: 3.1, map50: 0.1, map50_95: 0.05, precision: 0.2, recall: 0.3, 'lr/pg0': 0.01 }, epoch_time_seconds: 10 },
  { epoch: 2, metrics: { train_box_loss: 1.5, val_box_loss: 1.9, train_cls_loss: 2, val_cls_loss: 2.5, map50: 0.4, map50_95: 0.2, precision: 0.5, recall: 0.4 }, epoch_time_seconds: 12 },
  { epoch: 3, metrics: { train_box_loss: 1.2, val_box_loss: 2.0, map50: 0.35, map50_95: 0.25 }, epoch_time_seconds: null },
];

describe('metric selection', () => {
  it('splits losses from quality scores and orders them for the task', () => {
    expect(lossNames(epochs)).toEqual(['train_box_loss', 'val_box_loss', 'train_cls_loss', 'val_cls_loss']);
    expect(qualityNames('detect', epochs)).toEqual(['map50', 'map50_95', 'precision', 'recall']);
  });

  it('charts only the formatter’s quality group when it names groups', () => {
    const e: EpochRecord[] = [{ epoch: 1, metrics: { map50: 0.5, 'lr/pg0': 0.01, fitness: 0.2, custom: 3 }, epoch_time_seconds: 1 }];
    const meta = { map50: { group: 'quality' }, 'lr/pg0': { group: 'learning_rate' }, fitness: { group: 'other' }, custom: { group: 'quality' } };
    expect(qualityNames('detect', e, meta)).toEqual(['map50', 'custom']);
    expect(lossNames(e, meta)).toEqual([]);
  });

  it('honours the formatter’s groups', () => {
    const e: EpochRecord[] = [{ epoch: 1, metrics: { weird: 1, fitness: 0.3 }, epoch_time_seconds: 1 }];
    expect(lossNames(e, { weird: { group: 'loss' } })).toEqual(['weird']);
    expect(qualityNames('detect', e, { weird: { group: 'loss' } })).toEqual([]);
  });

  it('labels metrics for people', () => {
    expect(metricLabel('map50_95')).toBe('mAP50-95');
    expect(metricLabel('val_box_loss')).toBe('Val box loss');
    expect(metricLabel('train_loss')).toBe('Train loss');
    expect(metricLabel('top1_accuracy')).toBe('Top-1 accuracy');
    expect(metricLabel('x', { label: 'Custom' })).toBe('Custom');
  });
});

describe('series and best', () => {
  it('gives one value per epoch with gaps as null', () => {
    expect(series(epochs, 'precision')).toEqual([0.2, 0.5, null]);
  });

  it('finds the best epoch by direction', () => {
    expect(bestEpoch(epochs, 'map50')?.epoch).toBe(2);
    expect(bestEpoch(epochs, 'val_box_loss')?.epoch).toBe(2);
    expect(bestEpoch(epochs, 'map50_95')?.epoch).toBe(3);
    expect(bestEpoch(epochs, 'val_box_loss', { higher_is_better: true })?.epoch).toBe(1);
    expect(bestEpoch(epochs, 'nothing')).toBeNull();
  });
});

describe('ETA', () => {
  it('is the mean recent epoch time times the epochs left, minus the running part', () => {
    const s = { epochs, totalEpochs: 10, currentEpoch: 3, batch: null };
    expect(etaSeconds(s)).toBeCloseTo(7 * 11);
    expect(etaSeconds({ ...s, batch: { epoch: 4, batch: 5, total_batches: 10, loss: null } })).toBeCloseTo(6.5 * 11);
    expect(etaSeconds({ ...s, epochs: [] })).toBeNull();
    expect(etaSeconds({ ...s, currentEpoch: 10 })).toBe(0);
  });
});

describe('headline', () => {
  it('picks the task’s main metric', () => {
    expect(headline('detect', { map50: 0.5, map50_95: 0.3 })).toEqual({ name: 'map50_95', value: 0.3 });
    expect(headline('segment', { map50_95: 0.3, mask_map50_95: 0.2 })).toEqual({ name: 'mask_map50_95', value: 0.2 });
    expect(headline('classify', { top1_accuracy: 0.9 })).toEqual({ name: 'top1_accuracy', value: 0.9 });
    expect(headline('classify', null)).toBeNull();
  });
});

describe('startsHidden', () => {
  it('hides the total loss beside its parts, and precision/recall only when crowded', () => {
    const detectLoss = ['train_box_loss', 'val_box_loss', 'train_cls_loss', 'train_loss', 'val_loss'];
    expect(startsHidden('train_loss', detectLoss)).toBe(true);
    expect(startsHidden('train_box_loss', detectLoss)).toBe(false);
    // Classification has only the total: it stays.
    expect(startsHidden('train_loss', ['train_loss', 'val_loss'])).toBe(false);
    const detect = ['map50', 'map50_95', 'precision', 'recall'];
    expect(detect.filter((n) => startsHidden(n, detect))).toEqual([]);
    const segment = ['map50', 'map50_95', 'mask_map50', 'mask_map50_95', 'precision', 'recall', 'mask_precision', 'mask_recall'];
    expect(segment.filter((n) => startsHidden(n, segment))).toEqual(['precision', 'recall', 'mask_precision', 'mask_recall']);
  });
});
