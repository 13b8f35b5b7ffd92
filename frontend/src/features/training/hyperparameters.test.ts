import { describe, expect, it } from 'vitest';
import { checkValue, defaultsFor, HP_SPECS, hyperparametersFor, mergeFieldSpecs, modelName, scaleOf, specsFor, validateHyperparameters } from './hyperparameters';

const spec = (k: string) => HP_SPECS.find((s) => s.key === k)!;

describe('hyperparameters', () => {
  it('defaults are valid for every task and only carry the task’s extras', () => {
    for (const t of ['classify', 'detect', 'segment'] as const) {
      const d = defaultsFor(t);
      expect(validateHyperparameters(t, d)).toEqual({});
      expect(Object.keys(hyperparametersFor(t, d)).sort()).toEqual(['model', ...specsFor(t).map((s) => s.key)].sort());
    }
    expect(hyperparametersFor('detect', defaultsFor('segment'))).not.toHaveProperty('mask_ratio');
    expect(defaultsFor('segment')).toMatchObject({ iou: 0.7, conf: 0.001, mask_ratio: 4, overlap_mask: true, box: 7.5 });
    expect(defaultsFor('classify')).not.toHaveProperty('mosaic');
  });

  it('checks ranges, integers and fixed choices like the server', () => {
    expect(checkValue(spec('momentum'), 0.999)).toBeNull();
    expect(checkValue(spec('momentum'), 1)).toMatch(/at most 0.999/);
    expect(checkValue(spec('iou'), 0)).toMatch(/at least 0.01/);
    expect(checkValue(spec('mask_ratio'), 3)).toBe('Must be 1, 2, 4 or 8.');
    expect(checkValue(spec('mask_ratio'), 8)).toBeNull();
    expect(checkValue(spec('optimizer'), 'lion')).toMatch(/Choose one of/);
    expect(checkValue(spec('epochs'), NaN)).toBe('Enter a number.');
    expect(checkValue(spec('epochs'), Infinity)).toMatch(/finite/);
    expect(checkValue(spec('perspective'), 0.002)).toMatch(/at most 0.001/);
  });

  it('names models like Ultralytics', () => {
    expect(modelName('segment', 's')).toBe('yolov8s-seg.pt');
    expect(modelName('classify', 'x')).toBe('yolov8x-cls.pt');
    expect(scaleOf('yolov8m-seg.pt')).toBe('m');
    expect(validateHyperparameters('detect', { ...defaultsFor('detect'), model: 'resnet' }).model).toBeDefined();
  });
});

describe('mergeFieldSpecs', () => {
  it('takes the host’s ranges and choices, and adds fields it knows that the UI does not', () => {
    const specs = mergeFieldSpecs('segment', [
      { name: 'epochs', type: 'integer', default: 100, min: 1, max: 500, group: 'basic', description: 'Passes' },
      { name: 'lr0', type: 'number', default: 0.01, min: 1e-9, max: 1, group: 'optimizer', description: 'lr' },
      { name: 'imgsz', type: 'integer', default: 640, min: 32, max: 4096, multiple_of: 64, group: 'basic', description: 'size' },
      { name: 'mask_ratio', type: 'choice', default: 4, choices: [2, 4], group: 'task', description: 'ratio' },
      { name: 'label_smoothing', type: 'number', default: 0, min: 0, max: 1, group: 'loss', description: 'Label smoothing' },
      { name: 'model', type: 'choice', default: 'yolov8n-seg.pt', choices: ['yolov8n-seg.pt'], group: 'basic', description: 'model' },
    ]);
    const by = (k: string) => specs.find((s) => s.key === k)!;
    expect(checkValue(by('epochs'), 501)).toMatch(/at most 500/);
    expect(checkValue(by('lr0'), 1e-9)).toBeNull(); // inclusive, as the host validates
    expect(checkValue(by('imgsz'), 96)).toMatch(/multiple of 64/);
    expect(checkValue(by('mask_ratio'), 8)).toBe('Must be 2 or 4.');
    expect(by('label_smoothing')).toMatchObject({ kind: 'float', group: 'Loss', help: 'Label smoothing', max: 1 });
    // Fields the host does not list for the task are not offered.
    expect(specs.find((s) => s.key === 'dropout')).toBeUndefined();
    expect(specs.find((s) => s.key === 'cos_lr')).toBeUndefined();
    expect(specs.some((s) => (s.key as string) === 'model')).toBe(false);
  });

  it('falls back to the built-in specs without host fields', () => {
    expect(mergeFieldSpecs('detect', undefined)).toEqual(specsFor('detect'));
    expect(mergeFieldSpecs('detect', [])).toEqual(specsFor('detect'));
  });
});
