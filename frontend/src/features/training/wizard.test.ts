import { describe, expect, it } from 'vitest';
import { defaultsFor } from './hyperparameters';
import {
  buildJobConfig,
  classMapping,
  firstInvalidStep,
  initialWizard,
  locateField,
  mapServerErrors,
  mergeClassRows,
  validateStep,
  withTask,
  type WizardState,
} from './wizard';

function ready(): WizardState {
  let s = withTask(initialWizard([3]), 'detect');
  s = { ...s, classes: mergeClassRows([], new Map([['cat', 10], ['dog', 4], ['kitty', 2]])) };
  return s;
}

describe('task choice', () => {
  it('applies per-task defaults and annotation types', () => {
    const c = withTask(initialWizard(), 'classify');
    expect(c.annotationTypes).toEqual(['image_class']);
    expect(c.hp.imgsz).toBe(224);
    expect(c.hp.model).toBe('yolov8n-cls.pt');
    expect(c.hp.dropout).toBe(0);
    const seg = withTask(c, 'segment');
    expect(seg.annotationTypes).toEqual(['polygon']);
    expect(seg.hp.imgsz).toBe(640);
    expect(seg.hp.mask_ratio).toBe(4);
    expect(seg.hp.dropout).toBeUndefined();
    expect(withTask(seg, 'segment')).toBe(seg);
  });
});

describe('class mapping', () => {
  it('numbers classes in name order and merges labels given the same name', () => {
    const rows = mergeClassRows([], new Map([['cat', 10], ['dog', 4], ['kitty', 2], ['bird', 1]]));
    const edited = rows.map((r) => (r.label === 'kitty' ? { ...r, target: 'cat' } : r.label === 'bird' ? { ...r, include: false } : r));
    expect(classMapping(edited)).toEqual({ names: ['cat', 'dog'], mapping: { cat: 0, dog: 1, kitty: 0 } });
  });

  it('keeps the user’s choices when counts refresh', () => {
    const rows = mergeClassRows([], new Map([['a', 1], ['b', 2]])).map((r) => (r.label === 'a' ? { ...r, target: 'A', include: false } : r));
    const again = mergeClassRows(rows, new Map([['a', 5], ['c', 1]]));
    expect(again).toEqual([
      { label: 'a', count: 5, include: false, target: 'A' },
      { label: 'c', count: 1, include: true, target: 'c' },
    ]);
  });
});

describe('step validation', () => {
  it('requires a task, a project, types and classes', () => {
    const s = initialWizard();
    expect(validateStep(0, s)).toHaveProperty('task_type');
    expect(validateStep(1, s)).toHaveProperty('projects');
    const d = withTask(s, 'detect');
    expect(validateStep(2, d).class_mapping).toMatch(/No labels/);
    const noTypes = { ...ready(), annotationTypes: [] };
    expect(validateStep(2, noTypes)).toHaveProperty('annotation_types');
    const wrongType = { ...ready(), annotationTypes: ['image_class' as const] };
    expect(validateStep(2, wrongType).annotation_types).toMatch(/cannot be used for detect/);
    const none = { ...ready(), classes: ready().classes.map((r) => ({ ...r, include: false })) };
    expect(validateStep(2, none).class_mapping).toMatch(/at least one/);
    const blank = { ...ready(), classes: ready().classes.map((r) => (r.label === 'dog' ? { ...r, target: '  ' } : r)) };
    expect(validateStep(2, blank)).toHaveProperty(['class_mapping.dog']);
    expect(validateStep(2, ready())).toEqual({});
  });

  it('a classifier needs two classes', () => {
    const c = { ...withTask(initialWizard([1]), 'classify'), classes: mergeClassRows([], new Map([['only', 3]])) };
    expect(validateStep(2, c).class_mapping).toMatch(/two classes/);
  });

  it('checks the split', () => {
    expect(validateStep(3, { ...ready(), split: { train_ratio: 1, random_seed: 1, strategy: '' } })).toHaveProperty('train_ratio');
    expect(validateStep(3, { ...ready(), split: { train_ratio: 0.8, random_seed: 1.5, strategy: '' } })).toHaveProperty('random_seed');
    expect(validateStep(3, { ...ready(), split: { train_ratio: 0.8, random_seed: NaN, strategy: '' } })).toHaveProperty('random_seed');
  });

  it('flags bad hyperparameters on their field', () => {
    const s = ready();
    const bad = { ...s, hp: { ...s.hp, epochs: 0, lr0: 0, imgsz: 650, batch: 2.5 } };
    const e = validateStep(4, bad);
    expect(e.epochs).toMatch(/at least 1/);
    expect(e.lr0).toMatch(/greater than 0/);
    expect(e.imgsz).toMatch(/multiple of 32 \(e\.g\. 640\)/);
    expect(e.batch).toMatch(/whole number/);
    // A quick trial shorter than the default warm-up is allowed, as on the host.
    expect(validateStep(4, { ...s, hp: { ...s.hp, epochs: 2, warmup_epochs: 3 } })).toEqual({});
  });

  it('finds the first invalid step', () => {
    expect(firstInvalidStep(initialWizard())).toBe(0);
    expect(firstInvalidStep(ready())).toBeNull();
    expect(firstInvalidStep({ ...ready(), projects: [] })).toBe(1);
  });
});

describe('buildJobConfig', () => {
  it('writes the job config the API takes, with only the task’s hyperparameters', () => {
    const s = { ...ready(), name: ' first run ', split: { train_ratio: 0.75, random_seed: 7, strategy: 'stratified' } };
    s.classes = s.classes.map((r) => (r.label === 'kitty' ? { ...r, target: 'cat' } : r));
    const c = buildJobConfig(s);
    expect(c).toMatchObject({
      task_type: 'detect',
      projects: [3],
      annotation_types: ['box', 'rectangle', 'circle'],
      class_mapping: { cat: 0, dog: 1, kitty: 0 },
      class_names: ['cat', 'dog'],
      split: { train_ratio: 0.75, val_ratio: 0.25, random_seed: 7, strategy: 'stratified' },
      name: 'first run',
    });
    expect(c.hyperparameters).toMatchObject({ model: 'yolov8n.pt', epochs: 100, iou: 0.7, conf: 0.001 });
    expect(c.hyperparameters).not.toHaveProperty('dropout');
    expect(c.hyperparameters).not.toHaveProperty('mask_ratio');
    expect(c.description).toBeUndefined();
    // The split always adds up to 1.
    const r = buildJobConfig({ ...s, split: { ...s.split, train_ratio: 0.7 } }).split;
    expect(r.train_ratio + r.val_ratio).toBeCloseTo(1, 10);
  });

  it('omits a default strategy', () => {
    expect(buildJobConfig(ready()).split).not.toHaveProperty('strategy');
  });

  it('uses the classify defaults for a classifier', () => {
    const c = buildJobConfig({ ...withTask(initialWizard([1]), 'classify'), classes: mergeClassRows([], new Map([['a', 1], ['b', 1]])) });
    expect(c.hyperparameters).toMatchObject({ ...defaultsFor('classify'), model: 'yolov8n-cls.pt' });
    expect(c.hyperparameters).not.toHaveProperty('iou');
  });
});

describe('server 422 mapping', () => {
  it('puts each field path on its step and field', () => {
    expect(locateField('hyperparameters.lr0')).toEqual({ step: 4, field: 'lr0' });
    expect(locateField('split.val_ratio')).toEqual({ step: 3, field: 'train_ratio' });
    expect(locateField('split.random_seed')).toEqual({ step: 3, field: 'random_seed' });
    expect(locateField('class_mapping.kitty')).toEqual({ step: 2, field: 'class_mapping.kitty' });
    expect(locateField('class_names')).toEqual({ step: 2, field: 'class_mapping' });
    expect(locateField('projects[1]')).toEqual({ step: 1, field: 'projects' });
    expect(locateField('task_type')).toEqual({ step: 0, field: 'task_type' });
    expect(locateField('bogus')).toEqual({ step: 5, field: 'bogus' });
  });

  it('groups errors by step and reports the earliest', () => {
    const { byStep, first } = mapServerErrors([
      { field: 'hyperparameters.epochs', message: 'must be at most 10000' },
      { field: 'projects', message: 'project 9 does not exist or you cannot see it' },
    ]);
    expect(first).toBe(1);
    expect(byStep[4]).toEqual({ epochs: 'must be at most 10000' });
    expect(byStep[1]).toEqual({ projects: 'project 9 does not exist or you cannot see it' });
  });
});
