import { describe, expect, it } from 'vitest';
import { checkValue, defaultsFor, HP_SPECS, hyperparametersFor, modelName, scaleOf, specsFor, validateHyperparameters } from './hyperparameters';

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
