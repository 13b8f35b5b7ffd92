// The pure reducer that turns a job's event stream into what the monitor shows: status,
// epoch and batch progress, one metrics row per epoch, the final metrics and model. Events are
// applied strictly in `seq` order: an event already applied is ignored (replays after a
// reconnect overlap), an event ahead of a gap waits in `pending` until the gap is filled, and
// `hasGap` tells the socket hook to resume with `?since=<lastSeq>`.
//
// ASSUMED (server events): `epoch` is 1-based (the number of epochs done when it completes);
// a `snapshot` carries the job's current state and is not itself sequenced.

import type {
  EpochMetrics,
  JobEvent,
  MetricInfo,
  JobStatus,
  MetricRow,
  MetricValues,
  TrainingJob,
} from '@/api/types';

export interface MetricMeta {
  group?: string;
  higher_is_better?: boolean | null;
  label?: string;
}

/** The formatter's `metric_info` as a map by name. */
export function metaFromInfo(info: MetricInfo[] | undefined): Record<string, MetricMeta> {
  const out: Record<string, MetricMeta> = {};
  for (const i of info ?? []) {
    if (typeof i?.name !== 'string') continue;
    const m: MetricMeta = {};
    if (i.group !== undefined) m.group = i.group;
    if (i.higher_is_better !== undefined) m.higher_is_better = i.higher_is_better;
    if (i.label !== undefined) m.label = i.label;
    out[i.name] = m;
  }
  return out;
}

export interface EpochRecord {
  epoch: number;
  metrics: MetricValues;
  epoch_time_seconds: number | null;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  total_batches: number;
  loss: number | null;
}

export interface ActivityEntry {
  seq: number;
  level: 'info' | 'warning' | 'error';
  message: string;
  timestamp?: string;
}

const MAX_ACTIVITY = 100;

const STATUS_SENTENCE: Record<string, string> = {
  pending: 'Queued',
  preparing: 'Preparing the dataset',
  training: 'Training started',
  completed: 'Training finished',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** A status change as one line of activity: the step in words, then what the server added
 * (unless it only repeats the step, like `queued`). */
export function statusActivity(status: JobStatus, message?: string | null): string {
  const sentence = STATUS_SENTENCE[status] ?? status;
  if (!message || message.trim().toLowerCase() === sentence.toLowerCase() || message.trim().toLowerCase() === status) return sentence;
  return `${sentence}: ${message}`;
}

function withActivity(s: LiveJobState, ev: { seq?: number; timestamp?: string }, level: ActivityEntry['level'], message: string): ActivityEntry[] {
  const entry: ActivityEntry = { seq: ev.seq ?? 0, level, message, timestamp: ev.timestamp };
  return [...s.activity, entry].slice(-MAX_ACTIVITY);
}

export interface LiveJobState {
  jobId: number;
  /** Highest sequence number applied; every event up to it has been applied. */
  lastSeq: number;
  status: JobStatus | null;
  currentEpoch: number;
  totalEpochs: number;
  progressPercent: number;
  batch: BatchProgress | null;
  /** One record per epoch, ascending. */
  epochs: EpochRecord[];
  metricMeta: Record<string, MetricMeta>;
  finalMetrics: MetricValues | null;
  modelId: number | null;
  error: string | null;
  message: string | null;
  /** What the job said along the way (status changes with a message, log lines), newest last. */
  activity: ActivityEntry[];
  /** Events received ahead of a gap, ascending by seq, waiting for the gap to fill. */
  pending: JobEvent[];
}

export function initialLiveState(jobId: number): LiveJobState {
  return {
    jobId,
    lastSeq: 0,
    status: null,
    currentEpoch: 0,
    totalEpochs: 0,
    progressPercent: 0,
    batch: null,
    epochs: [],
    metricMeta: {},
    finalMetrics: null,
    modelId: null,
    error: null,
    message: null,
    activity: [],
    pending: [],
  };
}

/** Metrics as a flat `{name: value}` map plus whatever the formatter said about each name. */
export function normalizeMetrics(m: MetricValues | MetricRow[] | null | undefined): { values: MetricValues; meta: Record<string, MetricMeta> } {
  const values: MetricValues = {};
  const meta: Record<string, MetricMeta> = {};
  if (!m) return { values, meta };
  if (Array.isArray(m)) {
    for (const row of m) {
      if (typeof row?.name !== 'string' || typeof row.value !== 'number') continue;
      values[row.name] = row.value;
      const info: MetricMeta = {};
      if (row.group !== undefined) info.group = row.group;
      if (row.higher_is_better !== undefined) info.higher_is_better = row.higher_is_better;
      if (row.label !== undefined) info.label = row.label;
      meta[row.name] = info;
    }
  } else {
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && Number.isFinite(v)) values[k] = v;
  }
  return { values, meta };
}

/** The state a REST job record implies, before any event (or to refresh one). */
export function withJob(state: LiveJobState, job: TrainingJob): LiveJobState {
  const final = normalizeMetrics(job.final_metrics ?? null);
  return {
    ...state,
    status: job.status,
    currentEpoch: Math.max(state.currentEpoch, job.current_epoch ?? 0),
    totalEpochs: job.total_epochs || state.totalEpochs,
    progressPercent: job.status === 'completed' ? 100 : Math.max(state.progressPercent, job.progress_percent ?? 0),
    finalMetrics: job.final_metrics ? final.values : state.finalMetrics,
    modelId: job.model_id ?? state.modelId,
    error: job.error_message ?? state.error,
  };
}

/** Merges stored per-epoch rows (REST history) into the state; events win for the same epoch. */
export function withHistory(state: LiveJobState, rows: EpochMetrics[]): LiveJobState {
  let epochs = state.epochs;
  for (const r of rows) {
    if (epochs.some((e) => e.epoch === r.epoch)) continue;
    const { values } = normalizeMetrics(r.metrics);
    if (typeof r.train_loss === 'number' && values.train_loss === undefined) values.train_loss = r.train_loss;
    if (typeof r.val_loss === 'number' && values.val_loss === undefined) values.val_loss = r.val_loss;
    epochs = upsertEpoch(epochs, { epoch: r.epoch, metrics: values, epoch_time_seconds: r.epoch_time_seconds ?? null });
  }
  const maxEpoch = epochs.length ? epochs[epochs.length - 1].epoch : 0;
  return { ...state, epochs, currentEpoch: Math.max(state.currentEpoch, maxEpoch) };
}

function upsertEpoch(epochs: EpochRecord[], rec: EpochRecord): EpochRecord[] {
  const i = epochs.findIndex((e) => e.epoch >= rec.epoch);
  if (i === -1) return [...epochs, rec];
  if (epochs[i].epoch === rec.epoch) return [...epochs.slice(0, i), rec, ...epochs.slice(i + 1)];
  return [...epochs.slice(0, i), rec, ...epochs.slice(i)];
}

function progressOf(epochsDone: number, total: number): number {
  return total > 0 ? Math.min(100, Math.max(0, (epochsDone / total) * 100)) : 0;
}

/** Applies one event whose turn it is (no sequencing here). */
function applyOne(s: LiveJobState, ev: JobEvent): LiveJobState {
  switch (ev.type) {
    case 'snapshot':
      return withJob(s, ev.job);
    case 'status_change':
      return {
        ...s,
        status: ev.status,
        message: ev.message ?? s.message,
        batch: ev.status === 'training' ? s.batch : null,
        // A failure's reason arrives as `training_failed`; a bare `failed` status adds nothing.
        activity:
          ev.status === 'failed' && !ev.message
            ? s.activity
            : withActivity(s, ev, ev.status === 'failed' ? 'error' : 'info', statusActivity(ev.status, ev.message)),
      };
    case 'epoch_start': {
      const total = ev.total_epochs ?? s.totalEpochs;
      return {
        ...s,
        status: s.status === null || s.status === 'pending' || s.status === 'preparing' ? 'training' : s.status,
        totalEpochs: total,
        batch: { epoch: ev.epoch, batch: 0, total_batches: 0, loss: null },
      };
    }
    case 'batch_progress': {
      const total = s.totalEpochs;
      const within = ev.total_batches > 0 ? ev.batch / ev.total_batches : 0;
      const progress = typeof ev.progress_percent === 'number' ? ev.progress_percent : total > 0 ? progressOf(ev.epoch - 1 + within, total) : s.progressPercent;
      return {
        ...s,
        batch: { epoch: ev.epoch, batch: ev.batch, total_batches: ev.total_batches, loss: ev.loss ?? null },
        progressPercent: Math.max(s.progressPercent, progress),
      };
    }
    case 'epoch_complete': {
      const { values, meta } = normalizeMetrics(ev.metrics);
      const total = ev.total_epochs ?? s.totalEpochs;
      const progress = typeof ev.progress_percent === 'number' ? ev.progress_percent : progressOf(ev.epoch, total);
      if (typeof ev.fitness === 'number' && values.fitness === undefined) values.fitness = ev.fitness;
      return {
        ...s,
        status: s.status === null || s.status === 'pending' || s.status === 'preparing' ? 'training' : s.status,
        totalEpochs: total,
        currentEpoch: Math.max(s.currentEpoch, ev.epoch),
        progressPercent: Math.max(s.progressPercent, progress),
        epochs: upsertEpoch(s.epochs, { epoch: ev.epoch, metrics: values, epoch_time_seconds: ev.epoch_time_seconds ?? null }),
        metricMeta: { ...s.metricMeta, ...meta, ...metaFromInfo(ev.metric_info) },
        batch: null,
      };
    }
    case 'training_complete': {
      const { values, meta } = normalizeMetrics(ev.final_metrics);
      return {
        ...s,
        status: 'completed',
        progressPercent: 100,
        finalMetrics: values,
        metricMeta: { ...s.metricMeta, ...meta },
        modelId: ev.model_id ?? s.modelId,
        batch: null,
      };
    }
    case 'training_failed':
      return { ...s, status: 'failed', error: ev.error, batch: null, activity: withActivity(s, ev, 'error', ev.error) };
    case 'log': {
      const level = ev.level === 'warning' || ev.level === 'warn' ? 'warning' : ev.level === 'error' ? 'error' : 'info';
      return { ...s, message: ev.message, activity: withActivity(s, ev, level, ev.message) };
    }
    default:
      // A newer server may send event types this UI does not know: skip, keep the order.
      return s;
  }
}

/**
 * Applies an event in sequence order. Unsequenced events (a snapshot) apply at once; a
 * duplicate is dropped; an event ahead of a gap is held in `pending` until the gap fills.
 */
export function applyEvent(state: LiveJobState, ev: JobEvent): LiveJobState {
  if (typeof ev.seq !== 'number') return applyOne(state, ev);
  if (ev.seq <= state.lastSeq || state.pending.some((p) => p.seq === ev.seq)) return state;
  if (ev.seq > state.lastSeq + 1) {
    const pending = [...state.pending, ev].sort((a, b) => a.seq - b.seq);
    return { ...state, pending };
  }
  let s = { ...applyOne(state, ev), lastSeq: ev.seq };
  return drainPending(s);
}

function drainPending(state: LiveJobState): LiveJobState {
  let s = state;
  while (s.pending.length && s.pending[0].seq <= s.lastSeq + 1) {
    const [next, ...rest] = s.pending;
    s = next.seq <= s.lastSeq ? { ...s, pending: rest } : { ...applyOne({ ...s, pending: rest }, next), lastSeq: next.seq };
  }
  return s;
}

export function applyEvents(state: LiveJobState, events: JobEvent[]): LiveJobState {
  return events.reduce(applyEvent, state);
}

/** True while events are waiting for missing ones: the stream should resume from `lastSeq`. */
export function hasGap(state: LiveJobState): boolean {
  return state.pending.length > 0;
}

/**
 * Gives up on the missing events (the server no longer has them) and applies what is
 * pending, in order. The REST history can then fill the epoch rows.
 */
export function acceptGap(state: LiveJobState): LiveJobState {
  if (!state.pending.length) return state;
  const [first, ...rest] = state.pending;
  return drainPending({ ...applyOne({ ...state, pending: rest }, first), lastSeq: first.seq });
}

/** Parses a socket message into a job event, or null when it is not one. */
export function parseJobEvent(data: unknown): JobEvent | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as { type?: unknown; seq?: unknown };
  if (typeof d.type !== 'string') return null;
  if (d.seq !== undefined && typeof d.seq !== 'number') return null;
  return data as JobEvent;
}
