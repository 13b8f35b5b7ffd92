// The hyperparameters the wizard offers: Ultralytics' defaults per task, the range each value
// must lie in, the group it is shown in and a sentence on what it does. Validation here flags
// bad values before the job is submitted; the server validates again and its 422s are mapped
// back onto these fields (`wizard.ts`).

import type { FieldSpec, Hyperparameters, OptimizerName, TaskType } from '@/api/types';

export type Scale = 'n' | 's' | 'm' | 'l' | 'x';
export const SCALES: { scale: Scale; name: string; params: Record<TaskType, string>; hint: string }[] = [
  { scale: 'n', name: 'Nano', params: { classify: '2.7M', detect: '3.2M', segment: '3.4M' }, hint: 'Fastest; fine for small datasets and CPUs' },
  { scale: 's', name: 'Small', params: { classify: '6.4M', detect: '11.2M', segment: '11.8M' }, hint: 'A good default on a GPU' },
  { scale: 'm', name: 'Medium', params: { classify: '17.0M', detect: '25.9M', segment: '27.3M' }, hint: 'More accurate, about 2× slower than small' },
  { scale: 'l', name: 'Large', params: { classify: '37.5M', detect: '43.7M', segment: '46.0M' }, hint: 'For large datasets and a strong GPU' },
  { scale: 'x', name: 'Extra large', params: { classify: '57.4M', detect: '68.2M', segment: '71.8M' }, hint: 'Most accurate, slowest' },
];

const suffix: Record<TaskType, string> = { classify: '-cls', detect: '', segment: '-seg' };

// ASSUMED: the job config names the model like Ultralytics (`yolov8n.pt`, `yolov8s-seg.pt`);
// pretrained weights are used when the server has them, else it trains from scratch.
export function modelName(task: TaskType, scale: Scale): string {
  return `yolov8${scale}${suffix[task]}.pt`;
}

export function scaleOf(model: string): Scale {
  const m = /^yolov8([nsmlx])/.exec(model);
  return (m?.[1] as Scale) ?? 'n';
}

export type HpKey = Exclude<keyof Hyperparameters, 'model'>;
export type HpGroup = 'Schedule' | 'Optimizer' | 'Augmentation' | 'Loss' | 'Task';

export interface HpSpec {
  key: HpKey;
  label: string;
  group: HpGroup;
  help: string;
  kind: 'int' | 'float' | 'bool' | 'select';
  min?: number;
  max?: number;
  /** Whether the bounds themselves are allowed (default: both inclusive). */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  step?: number;
  /** Allowed values of a select (strings) or of a number with a fixed set of values. */
  options?: readonly (string | number)[];
  /** The value must be a multiple of this (imgsz: 32). */
  multipleOf?: number;
  /** Tasks the field applies to (default: all). */
  tasks?: readonly TaskType[];
}

// Ranges are the server's (`host/core/src/hyperparams.rs` Hyperparameters::validate), so a
// value flagged here is one the server would refuse, and the other way round.
export const HP_SPECS: readonly HpSpec[] = [
  { key: 'epochs', label: 'Epochs', group: 'Schedule', kind: 'int', min: 1, max: 10000, help: 'Passes over the training images. More epochs learn more but take longer; early stopping ends a run that stops improving.' },
  { key: 'batch', label: 'Batch size', group: 'Schedule', kind: 'int', min: 1, max: 1024, help: 'Images per training step. Larger batches need more GPU memory; lower it if training runs out of memory.' },
  { key: 'imgsz', label: 'Image size', group: 'Schedule', kind: 'int', min: 32, max: 4096, step: 32, multipleOf: 32, help: 'Images are resized (letterboxed) to this many pixels per side; a multiple of 32. Larger sees small objects better but is slower.' },
  { key: 'patience', label: 'Early-stop patience', group: 'Schedule', kind: 'int', min: 0, max: 100000, help: 'Stop when the validation fitness has not improved for this many epochs (0 turns early stopping off).' },
  { key: 'optimizer', label: 'Optimizer', group: 'Optimizer', kind: 'select', options: ['auto', 'SGD', 'AdamW', 'Adam'], help: '“auto” picks AdamW (with its own learning rate) for short runs and SGD for long ones, as Ultralytics does.' },
  { key: 'lr0', label: 'Initial learning rate', group: 'Optimizer', kind: 'float', min: 0, minExclusive: true, max: 1, step: 0.001, help: 'Step size at the start of training (after warm-up). Typical: 0.01 for SGD, 0.001 for Adam(W). Ignored by “auto”.' },
  { key: 'lrf', label: 'Final learning-rate factor', group: 'Optimizer', kind: 'float', min: 0, minExclusive: true, max: 1, step: 0.01, help: 'The learning rate decays to lr0 × lrf by the last epoch.' },
  { key: 'momentum', label: 'Momentum', group: 'Optimizer', kind: 'float', min: 0, max: 0.999, step: 0.001, help: 'SGD momentum (β1 for Adam). How much of the previous step carries into the next.' },
  { key: 'weight_decay', label: 'Weight decay', group: 'Optimizer', kind: 'float', min: 0, max: 0.1, step: 0.0001, help: 'L2 penalty that keeps weights small and reduces over-fitting.' },
  { key: 'warmup_epochs', label: 'Warm-up epochs', group: 'Optimizer', kind: 'float', min: 0, max: 10000, step: 0.5, help: 'Epochs over which the learning rate ramps up from a small value, for a stable start.' },
  { key: 'warmup_momentum', label: 'Warm-up momentum', group: 'Optimizer', kind: 'float', min: 0, max: 0.999, step: 0.01, help: 'Momentum at the start of warm-up, rising to the momentum above.' },
  { key: 'warmup_bias_lr', label: 'Warm-up bias learning rate', group: 'Optimizer', kind: 'float', min: 0, max: 1, step: 0.01, help: 'Learning rate of the biases at the start of warm-up.' },
  { key: 'cos_lr', label: 'Cosine learning-rate schedule', group: 'Optimizer', kind: 'bool', help: 'Decay the learning rate along a cosine curve instead of linearly.' },
  { key: 'augment', label: 'Data augmentation', group: 'Augmentation', kind: 'bool', help: 'Mosaic, random affine, HSV and flips during training. Off switches all of them off.' },
  { key: 'seed', label: 'Random seed', group: 'Augmentation', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, help: 'Same seed, same data and settings give the same run.' },
  { key: 'hsv_h', label: 'Hue jitter', group: 'Augmentation', kind: 'float', min: 0, max: 1, step: 0.005, help: 'Random hue shift, as a fraction of the colour circle.' },
  { key: 'hsv_s', label: 'Saturation jitter', group: 'Augmentation', kind: 'float', min: 0, max: 1, step: 0.05, help: 'Random saturation change, as a fraction.' },
  { key: 'hsv_v', label: 'Brightness jitter', group: 'Augmentation', kind: 'float', min: 0, max: 1, step: 0.05, help: 'Random brightness change, as a fraction.' },
  { key: 'degrees', label: 'Rotation (±°)', group: 'Augmentation', kind: 'float', min: 0, max: 180, step: 1, help: 'Random rotation range in degrees.' },
  { key: 'translate', label: 'Translation (± fraction)', group: 'Augmentation', kind: 'float', min: 0, max: 0.9, step: 0.05, help: 'Random shift as a fraction of the image size.' },
  { key: 'scale', label: 'Scale (± fraction)', group: 'Augmentation', kind: 'float', min: 0, max: 0.99, step: 0.05, help: 'Random zoom: 0.5 means between 0.5× and 1.5×.' },
  { key: 'shear', label: 'Shear (±°)', group: 'Augmentation', kind: 'float', min: 0, max: 89, step: 1, help: 'Random shear in degrees.' },
  { key: 'perspective', label: 'Perspective', group: 'Augmentation', kind: 'float', min: 0, max: 0.001, step: 0.0001, help: 'Random perspective distortion (0 to 0.001).' },
  { key: 'flipud', label: 'Vertical flip probability', group: 'Augmentation', kind: 'float', min: 0, max: 1, step: 0.05, help: 'Chance of flipping an image upside down. Useful for aerial or microscope images.' },
  { key: 'fliplr', label: 'Horizontal flip probability', group: 'Augmentation', kind: 'float', min: 0, max: 1, step: 0.05, help: 'Chance of mirroring an image left–right.' },
  { key: 'mosaic', label: 'Mosaic probability', group: 'Augmentation', kind: 'float', min: 0, max: 1, step: 0.05, tasks: ['detect', 'segment'], help: 'Chance of stitching four images into one, which shows objects in more contexts and sizes.' },
  { key: 'mixup', label: 'MixUp probability', group: 'Augmentation', kind: 'float', min: 0, max: 1, step: 0.05, tasks: ['detect', 'segment'], help: 'Chance of blending two images together.' },
  { key: 'close_mosaic', label: 'Mosaic off for last epochs', group: 'Augmentation', kind: 'int', min: 0, max: 100000, tasks: ['detect', 'segment'], help: 'Turn mosaic and mixup off for this many final epochs, so the model finishes on natural images.' },
  { key: 'box', label: 'Box loss gain', group: 'Loss', kind: 'float', min: 0, max: 1000, step: 0.5, tasks: ['detect', 'segment'], help: 'Weight of the box (CIoU) loss.' },
  { key: 'cls', label: 'Class loss gain', group: 'Loss', kind: 'float', min: 0, max: 1000, step: 0.1, tasks: ['detect', 'segment'], help: 'Weight of the classification loss.' },
  { key: 'dfl', label: 'DFL loss gain', group: 'Loss', kind: 'float', min: 0, max: 1000, step: 0.1, tasks: ['detect', 'segment'], help: 'Weight of the distribution focal loss of the box edges.' },
  { key: 'dropout', label: 'Dropout', group: 'Task', kind: 'float', min: 0, max: 0.99, step: 0.05, tasks: ['classify'], help: 'Fraction of the classifier head’s inputs dropped during training, against over-fitting.' },
  { key: 'iou', label: 'NMS IoU threshold', group: 'Task', kind: 'float', min: 0.01, max: 1, step: 0.05, tasks: ['detect', 'segment'], help: 'When validating, overlapping boxes of a class above this IoU are merged by non-maximum suppression.' },
  { key: 'conf', label: 'Validation confidence', group: 'Task', kind: 'float', min: 0, max: 1, step: 0.001, tasks: ['detect', 'segment'], help: 'Predictions below this confidence are ignored when computing mAP (low values give a full precision–recall curve).' },
  { key: 'overlap_mask', label: 'Overlapping masks', group: 'Task', kind: 'bool', tasks: ['segment'], help: 'Train on one overlap-aware mask per image (smaller instances on top) instead of one mask per instance.' },
  { key: 'mask_ratio', label: 'Mask downsample ratio', group: 'Task', kind: 'int', options: [1, 2, 4, 8], tasks: ['segment'], help: 'Masks are trained at image size ÷ this ratio. Lower is finer and slower.' },
];

export const GROUPS: { group: HpGroup; title: string; blurb: string }[] = [
  { group: 'Schedule', title: 'Schedule', blurb: 'How long to train and on what size of input.' },
  { group: 'Optimizer', title: 'Optimizer', blurb: 'How the weights are updated.' },
  { group: 'Augmentation', title: 'Augmentation and reproducibility', blurb: 'How training images are varied, so the model generalises.' },
  { group: 'Loss', title: 'Loss weights', blurb: 'How much each part of the loss counts.' },
  { group: 'Task', title: 'Task-specific', blurb: 'Settings that only apply to this kind of model.' },
];

export function specsFor(task: TaskType): HpSpec[] {
  return HP_SPECS.filter((s) => !s.tasks || s.tasks.includes(task));
}

/** Ultralytics 8.4 defaults (`ultralytics/cfg/default.yaml`), model and imgsz per task. */
export function defaultsFor(task: TaskType, scale: Scale = 'n'): Hyperparameters {
  const base: Hyperparameters = {
    model: modelName(task, scale),
    epochs: 100,
    batch: 16,
    imgsz: task === 'classify' ? 224 : 640,
    lr0: 0.01,
    lrf: 0.01,
    momentum: 0.937,
    weight_decay: 0.0005,
    warmup_epochs: 3,
    warmup_momentum: 0.8,
    warmup_bias_lr: 0.1,
    augment: true,
    optimizer: 'auto' as OptimizerName,
    patience: 100,
    cos_lr: false,
    seed: 0,
    hsv_h: 0.015,
    hsv_s: 0.7,
    hsv_v: 0.4,
    degrees: 0,
    translate: 0.1,
    scale: 0.5,
    shear: 0,
    perspective: 0,
    flipud: 0,
    fliplr: 0.5,
  };
  if (task === 'classify') return { ...base, dropout: 0 };
  const det = { ...base, mosaic: 1, mixup: 0, close_mosaic: 10, box: 7.5, cls: 0.5, dfl: 1.5, iou: 0.7, conf: 0.001 };
  if (task === 'detect') return det;
  return { ...det, overlap_mask: true, mask_ratio: 4 };
}

function rangeText(s: HpSpec): string {
  const lo = s.min === undefined ? '' : `${s.minExclusive ? 'greater than' : 'at least'} ${s.min}`;
  const hi = s.max === undefined ? '' : `${s.maxExclusive ? 'less than' : 'at most'} ${s.max}`;
  return [lo, hi].filter(Boolean).join(' and ');
}

/** The problem with one value, in words, or null when it is fine. */
export function checkValue(s: HpSpec, v: unknown): string | null {
  if (s.kind === 'bool') return typeof v === 'boolean' ? null : 'Choose on or off.';
  if (s.kind === 'select') return typeof v === 'string' && s.options?.includes(v) ? null : `Choose one of ${s.options?.join(', ')}.`;
  if (typeof v !== 'number' || Number.isNaN(v)) return 'Enter a number.';
  if (s.options) return s.options.includes(v) ? null : `Must be ${s.options.slice(0, -1).join(', ')} or ${s.options[s.options.length - 1]}.`;
  if (!Number.isFinite(v)) return 'Enter a finite number.';
  if (s.kind === 'int' && !Number.isInteger(v)) return 'Enter a whole number.';
  const tooLow = s.min !== undefined && (s.minExclusive ? v <= s.min : v < s.min);
  const tooHigh = s.max !== undefined && (s.maxExclusive ? v >= s.max : v > s.max);
  if (tooLow || tooHigh) return `Must be ${rangeText(s)}.`;
  if (s.multipleOf && v % s.multipleOf !== 0) return `Must be a multiple of ${s.multipleOf} (e.g. ${Math.max(s.multipleOf, Math.round(v / s.multipleOf) * s.multipleOf)}).`;
  return null;
}

/** Every problem in a set of hyperparameters for a task, keyed by field. */
export function validateHyperparameters(task: TaskType, hp: Hyperparameters, specs: readonly HpSpec[] = specsFor(task)): Partial<Record<keyof Hyperparameters, string>> {
  const errors: Partial<Record<keyof Hyperparameters, string>> = {};
  for (const s of specs) {
    const v = hp[s.key];
    if (v === undefined) continue; // missing values take the server's documented default
    const e = checkValue(s, v);
    if (e) errors[s.key] = e;
  }
  // No rule tying warm-up to epochs: a short run with the default 3 warm-up epochs is valid
  // (the host and Ultralytics simply stay in warm-up), and a quick 1–2 epoch trial is common.
  if (!/^yolov8[nsmlx]/.test(hp.model)) errors.model = 'Pick a model size.';
  return errors;
}

/** Only the fields that apply to the task (others would be a 422 "unknown field"). */
export function hyperparametersFor(task: TaskType, hp: Hyperparameters, specs: readonly HpSpec[] = specsFor(task)): Hyperparameters {
  const out: Record<string, unknown> = { model: hp.model };
  for (const s of specs) if (hp[s.key] !== undefined) out[s.key] = hp[s.key];
  return out as unknown as Hyperparameters;
}

const GROUP_OF: Record<string, HpGroup> = { basic: 'Schedule', optimizer: 'Optimizer', loss: 'Loss', augmentation: 'Augmentation', task: 'Task' };

/**
 * The task's specs with the ranges and choices the host advertises (`GET /training/defaults`,
 * tested there against its validation), so the form flags exactly what the host would refuse.
 * Fields the host knows and this UI does not are added with the host's description.
 */
export function mergeFieldSpecs(task: TaskType, fields: readonly FieldSpec[] | undefined): HpSpec[] {
  const base = specsFor(task);
  if (!fields?.length) return base;
  const byName = new Map(fields.map((f) => [f.name, f]));
  const merged: HpSpec[] = base
    .filter((s) => byName.has(s.key))
    .map((s) => {
      const f = byName.get(s.key)!;
      const out: HpSpec = { ...s, min: f.min ?? s.min, max: f.max ?? s.max, multipleOf: f.multiple_of ?? s.multipleOf };
      // The host's bounds are inclusive.
      if (f.min !== undefined) out.minExclusive = false;
      if (f.max !== undefined) out.maxExclusive = false;
      if (f.choices?.length && s.options) out.options = f.choices;
      return out;
    });
  for (const f of fields) {
    if (f.name === 'model' || merged.some((s) => s.key === f.name)) continue;
    const kind: HpSpec['kind'] = f.type === 'boolean' ? 'bool' : f.type === 'integer' ? 'int' : f.type === 'choice' && f.choices?.every((c) => typeof c === 'string') ? 'select' : f.type === 'string' ? 'select' : f.type === 'choice' ? 'int' : 'float';
    merged.push({
      key: f.name as HpKey,
      label: f.name.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()),
      group: GROUP_OF[f.group] ?? 'Task',
      help: f.description,
      kind,
      min: f.min,
      max: f.max,
      options: f.choices?.length ? f.choices : undefined,
      multipleOf: f.multiple_of,
    });
  }
  return merged;
}
