// What the monitor and the model pages show of a run's metrics: which named metrics are
// losses and which are quality scores, their display names, the series a chart plots, the
// best epoch and the time left. Metric names are the metrics-formatter plugin's API names
// (`train_box_loss`, `map50`, `map50_95`, `top1_accuracy`, `mask_map50`, …).

import type { MetricValues, TaskType } from '@/api/types';
import type { EpochRecord, LiveJobState, MetricMeta } from '@/ws/jobEvents';

const LABELS: Record<string, string> = {
  precision: 'Precision',
  recall: 'Recall',
  map50: 'mAP50',
  map50_95: 'mAP50-95',
  mask_precision: 'Mask precision',
  mask_recall: 'Mask recall',
  mask_map50: 'Mask mAP50',
  mask_map50_95: 'Mask mAP50-95',
  box_precision: 'Box precision',
  box_recall: 'Box recall',
  box_map50: 'Box mAP50',
  box_map50_95: 'Box mAP50-95',
  top1_accuracy: 'Top-1 accuracy',
  top5_accuracy: 'Top-5 accuracy',
  fitness: 'Fitness',
};

/** The preferred order of quality metrics per task; others follow alphabetically. */
const QUALITY_ORDER: Record<TaskType, string[]> = {
  classify: ['top1_accuracy', 'top5_accuracy'],
  detect: ['map50', 'map50_95', 'precision', 'recall'],
  segment: ['map50', 'map50_95', 'mask_map50', 'mask_map50_95', 'box_map50', 'box_map50_95', 'precision', 'recall', 'mask_precision', 'mask_recall'],
};

/** The one number that says how good a model is, per task. */
export const HEADLINE: Record<TaskType, string[]> = {
  classify: ['top1_accuracy', 'top5_accuracy'],
  detect: ['map50_95', 'map50', 'precision', 'recall'],
  segment: ['mask_map50_95', 'map50_95', 'mask_map50', 'map50'],
};

export function metricLabel(name: string, meta?: MetricMeta): string {
  if (meta?.label) return meta.label;
  if (LABELS[name]) return LABELS[name];
  const m = /^(train|val)_(.+)$/.exec(name);
  if (m) {
    const what = m[2].replace(/_loss$/, '').replace(/^loss$/, '').replace(/_/g, ' ');
    return `${m[1] === 'train' ? 'Train' : 'Val'} ${what ? `${what} ` : ''}loss`;
  }
  return name.replace(/_/g, ' ');
}

export const isLoss = (name: string, meta?: MetricMeta) => (meta?.group ? meta.group === 'loss' : /loss/.test(name));
const isLearningRate = (name: string) => /^lr[/_]?pg\d$|^lr(_|$)/.test(name);
/** A score to chart as quality: the formatter's `quality` group, else anything not a loss or lr. */
const isQuality = (name: string, meta?: MetricMeta) => (meta?.group ? meta.group === 'quality' : !/loss/.test(name) && !isLearningRate(name) && name !== 'fitness');

/** All metric names seen across epochs, in first-seen order. */
export function metricNames(epochs: EpochRecord[]): string[] {
  const seen = new Set<string>();
  for (const e of epochs) for (const k of Object.keys(e.metrics)) seen.add(k);
  return [...seen];
}

export function lossNames(epochs: EpochRecord[], meta: Record<string, MetricMeta> = {}): string[] {
  // Train and val of the same component side by side: train_box_loss, val_box_loss, …
  return metricNames(epochs)
    .filter((n) => isLoss(n, meta[n]))
    .sort((a, b) => {
      const ka = a.replace(/^(train|val)_/, '');
      const kb = b.replace(/^(train|val)_/, '');
      return ka === kb ? a.localeCompare(b) : ka.localeCompare(kb);
    });
}

export function qualityNames(task: TaskType, epochs: EpochRecord[], meta: Record<string, MetricMeta> = {}): string[] {
  const names = metricNames(epochs).filter((n) => isQuality(n, meta[n]));
  const order = QUALITY_ORDER[task];
  return names.sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
    return a.localeCompare(b);
  });
}

/** Series a chart starts with hidden (its legend entry shows them): the total loss when its
 * parts are plotted (the sum sets the scale and flattens them), and precision and recall
 * when there are too many lines (segmentation's eight quality series keep the four mAPs). */
export function startsHidden(name: string, names: string[]): boolean {
  if (/^(train|val)_loss$/.test(name)) return names.some((n) => /^(train|val)_.+_loss$/.test(n));
  if (/(^|_)(precision|recall)$/.test(name)) return names.length > 6;
  return false;
}

/** The values of one metric per epoch (null where an epoch lacks it), for a chart. */
export function series(epochs: EpochRecord[], name: string): (number | null)[] {
  return epochs.map((e) => (typeof e.metrics[name] === 'number' ? e.metrics[name] : null));
}

export function higherIsBetter(name: string, meta?: MetricMeta): boolean {
  // `null` from the formatter means neither direction; treat like a score.
  return meta?.higher_is_better ?? !isLoss(name, meta);
}

/** The epoch with the best value of `name`, or null. */
export function bestEpoch(epochs: EpochRecord[], name: string, meta?: MetricMeta): EpochRecord | null {
  const hib = higherIsBetter(name, meta);
  let best: EpochRecord | null = null;
  for (const e of epochs) {
    const v = e.metrics[name];
    if (typeof v !== 'number') continue;
    if (!best || (hib ? v > best.metrics[name] : v < best.metrics[name])) best = e;
  }
  return best;
}

/** Estimated seconds left: the mean of the last few epoch times × epochs remaining. */
export function etaSeconds(state: Pick<LiveJobState, 'epochs' | 'totalEpochs' | 'currentEpoch' | 'batch'>, window = 5): number | null {
  const times = state.epochs.map((e) => e.epoch_time_seconds).filter((t): t is number => typeof t === 'number' && t > 0);
  if (!times.length || state.totalEpochs <= 0) return null;
  const recent = times.slice(-window);
  const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
  let remaining = state.totalEpochs - state.currentEpoch;
  // Part of the running epoch is already done.
  if (state.batch && state.batch.total_batches > 0 && state.batch.epoch > state.currentEpoch) remaining -= state.batch.batch / state.batch.total_batches;
  return Math.max(0, remaining * mean);
}

export function totalTrainingSeconds(epochs: EpochRecord[]): number {
  return epochs.reduce((n, e) => n + (e.epoch_time_seconds ?? 0), 0);
}

/** The headline metric of a set of values for a task: its name and value, or null. */
export function headline(task: TaskType, values: MetricValues | null | undefined): { name: string; value: number } | null {
  if (!values) return null;
  for (const n of HEADLINE[task]) if (typeof values[n] === 'number') return { name: n, value: values[n] };
  return null;
}
