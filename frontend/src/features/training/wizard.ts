// The training wizard's model: its state, what each of the six steps requires before the next,
// turning the state into the job config the server takes (DESIGN.md "Job config JSON"), and
// mapping a server 422's field paths back onto the step and field that caused them.

import type { AnnotationType, FieldError, Hyperparameters, JobConfig, TaskType } from '@/api/types';
import { defaultsFor, hyperparametersFor, validateHyperparameters, type HpSpec } from './hyperparameters';

export const STEPS = ['Task', 'Data', 'Classes', 'Split', 'Hyperparameters', 'Review'] as const;
export type StepIndex = 0 | 1 | 2 | 3 | 4 | 5;

/** `host/core/src/task.rs` accepted_annotation_types / default_annotation_types. */
export const ACCEPTED_TYPES: Record<TaskType, AnnotationType[]> = {
  classify: ['image_class'],
  detect: ['box', 'rectangle', 'circle', 'polygon'],
  segment: ['polygon', 'circle', 'box', 'rectangle'],
};
export const DEFAULT_TYPES: Record<TaskType, AnnotationType[]> = {
  classify: ['image_class'],
  detect: ['box', 'rectangle', 'circle'],
  segment: ['polygon'],
};

/** One label found in the data, whether to train on it and under which class name. */
export interface ClassRow {
  label: string;
  count: number;
  include: boolean;
  /** The class it trains as; labels with the same target are merged. */
  target: string;
}

export interface WizardState {
  task: TaskType | null;
  projects: number[];
  annotationTypes: AnnotationType[];
  classes: ClassRow[];
  split: { train_ratio: number; random_seed: number; strategy: string };
  hp: Hyperparameters;
  name: string;
  description: string;
}

export function initialWizard(projects: number[] = []): WizardState {
  return {
    task: null,
    projects,
    annotationTypes: [],
    classes: [],
    split: { train_ratio: 0.8, random_seed: 42, strategy: '' },
    hp: defaultsFor('detect'),
    name: '',
    description: '',
  };
}

/** Choosing a task resets what depends on it: annotation types and the task's defaults. */
export function withTask(s: WizardState, task: TaskType): WizardState {
  if (s.task === task) return s;
  return { ...s, task, annotationTypes: [...DEFAULT_TYPES[task]], classes: [], hp: defaultsFor(task) };
}

/**
 * Refreshes the class rows from label counts found in the data, keeping the user's choices
 * (include, target) for labels already listed. New labels are included under their own name.
 */
export function mergeClassRows(rows: ClassRow[], counts: Map<string, number>): ClassRow[] {
  const old = new Map(rows.map((r) => [r.label, r]));
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, count]) => {
      const prev = old.get(label);
      return prev ? { ...prev, count } : { label, count, include: true, target: label };
    });
}

/** Class names in id order (sorted), and the label → id mapping, from the included rows. */
export function classMapping(rows: ClassRow[]): { names: string[]; mapping: Record<string, number> } {
  const names = [...new Set(rows.filter((r) => r.include).map((r) => r.target.trim()))].sort((a, b) => a.localeCompare(b));
  const mapping: Record<string, number> = {};
  for (const r of rows) if (r.include) mapping[r.label] = names.indexOf(r.target.trim());
  return { names, mapping };
}

export type StepErrors = Record<string, string>;

/** What keeps step `i` from being complete; empty when the user may go on. `specs` are the
 * task's hyperparameter specs (with the host's ranges when it advertises them). */
export function validateStep(i: StepIndex, s: WizardState, specs?: readonly HpSpec[]): StepErrors {
  const e: StepErrors = {};
  switch (i) {
    case 0:
      if (!s.task) e.task_type = 'Choose what the model should do.';
      break;
    case 1:
      if (s.projects.length === 0) e.projects = 'Choose at least one project to train on.';
      break;
    case 2: {
      if (s.annotationTypes.length === 0) e.annotation_types = 'Choose at least one annotation type.';
      const allowed = s.task ? ACCEPTED_TYPES[s.task] : [];
      const bad = s.annotationTypes.filter((t) => !allowed.includes(t));
      if (bad.length) e.annotation_types = `${bad.join(', ')} cannot be used for ${s.task}.`;
      const included = s.classes.filter((r) => r.include);
      if (s.classes.length === 0) e.class_mapping = 'No labels were found in the chosen projects for these annotation types. Label some images first.';
      else if (included.length === 0) e.class_mapping = 'Include at least one class.';
      const blank = included.find((r) => !r.target.trim());
      if (blank) e[`class_mapping.${blank.label}`] = 'Give this class a name.';
      const { names } = classMapping(s.classes);
      if (!e.class_mapping && s.task === 'classify' && names.length < 2) e.class_mapping = 'A classifier needs at least two classes.';
      break;
    }
    case 3:
      if (!(s.split.train_ratio > 0 && s.split.train_ratio < 1)) e.train_ratio = 'The training share must be between 0 and 100% (exclusive).';
      if (!Number.isInteger(s.split.random_seed) || s.split.random_seed < 0) e.random_seed = 'Use a whole number, 0 or more.';
      break;
    case 4:
      if (s.task) Object.assign(e, validateHyperparameters(s.task, s.hp, specs));
      break;
    case 5:
      if (s.name.length > 200) e.name = 'Keep the name under 200 characters.';
      break;
  }
  return e;
}

/** The first step with a problem, or null when the whole wizard is valid. */
export function firstInvalidStep(s: WizardState, specs?: readonly HpSpec[]): StepIndex | null {
  for (let i = 0 as StepIndex; i < STEPS.length; i = (i + 1) as StepIndex) if (Object.keys(validateStep(i, s, specs)).length) return i;
  return null;
}

export function buildJobConfig(s: WizardState, specs?: readonly HpSpec[]): JobConfig {
  if (!s.task) throw new Error('no task chosen');
  const { names, mapping } = classMapping(s.classes);
  const r = Math.round(s.split.train_ratio * 1000) / 1000;
  const config: JobConfig = {
    task_type: s.task,
    projects: [...s.projects],
    annotation_types: [...s.annotationTypes],
    class_mapping: mapping,
    class_names: names,
    split: { train_ratio: r, val_ratio: Math.round((1 - r) * 1000) / 1000, random_seed: s.split.random_seed },
    hyperparameters: hyperparametersFor(s.task, s.hp, specs),
  };
  if (s.split.strategy) config.split.strategy = s.split.strategy;
  if (s.name.trim()) config.name = s.name.trim();
  if (s.description.trim()) config.description = s.description.trim();
  return config;
}

/** Where a server field path belongs in the wizard: `hyperparameters.lr0` → step 4, field `lr0`. */
export function locateField(path: string): { step: StepIndex; field: string } {
  const [head, ...rest] = path.split('.');
  const tail = rest.join('.');
  const root = head.replace(/\[\d+\]$/, '');
  switch (root) {
    case 'task_type':
      return { step: 0, field: 'task_type' };
    case 'projects':
      return { step: 1, field: 'projects' };
    case 'annotation_types':
      return { step: 2, field: 'annotation_types' };
    case 'class_mapping':
      return { step: 2, field: tail ? `class_mapping.${tail}` : 'class_mapping' };
    case 'class_names':
      return { step: 2, field: 'class_mapping' };
    case 'split':
      return { step: 3, field: tail === 'val_ratio' ? 'train_ratio' : tail || 'train_ratio' };
    case 'hyperparameters':
      return { step: 4, field: tail || 'hyperparameters' };
    case 'name':
    case 'description':
      return { step: 5, field: root };
    default:
      return { step: 5, field: path || 'form' };
  }
}

/** Server field errors grouped by step, each keyed by the wizard's field name. */
export function mapServerErrors(errors: FieldError[]): { byStep: Partial<Record<StepIndex, StepErrors>>; first: StepIndex | null } {
  const byStep: Partial<Record<StepIndex, StepErrors>> = {};
  let first: StepIndex | null = null;
  for (const fe of errors) {
    const { step, field } = locateField(fe.field);
    (byStep[step] ??= {})[field] = fe.message;
    if (first === null || step < first) first = step;
  }
  return { byStep, first };
}
