// One function per REST route the UI uses (DESIGN.md "API"), grouped by resource. Pages never
// build URLs themselves; they call these through the hooks in `queries.ts`.

import { api, apiBlob, uploadForm, type UploadProgress } from './client';
import type {
  Annotation,
  AnnotationCreate,
  ClassCounts,
  AnnotationPatch,
  Credentials,
  EpochMetrics,
  Image,
  ImportFormat,
  ImportResult,
  JobConfig,
  JobStatus,
  Member,
  MemberCreate,
  ModelPatch,
  Page,
  Plugin,
  PluginKind,
  PredictResponse,
  PrelabelRun,
  Project,
  ProjectCreate,
  TaskType,
  TrainingDefaults,
  TokenResponse,
  TrainedModel,
  TrainingJob,
  UploadResult,
  User,
} from './types';

export const auth = {
  login: (c: Credentials) => api<TokenResponse>('/auth/login', { method: 'POST', body: c, allowUnauthorized: true }),
  register: (c: Credentials) => api<User>('/auth/register', { method: 'POST', body: c, allowUnauthorized: true }),
  me: () => api<User>('/auth/me'),
};

export const projects = {
  list: () => api<Project[] | Page<Project>>('/projects').then(itemsOf),
  get: (id: number) => api<Project>(`/projects/${id}`),
  create: (p: ProjectCreate) => api<Project>('/projects', { method: 'POST', body: p }),
  update: (id: number, p: Partial<ProjectCreate>) => api<Project>(`/projects/${id}`, { method: 'PATCH', body: p }),
  remove: (id: number) => api<void>(`/projects/${id}`, { method: 'DELETE' }),
  members: (id: number) => api<Member[]>(`/projects/${id}/members`),
  addMember: (id: number, m: MemberCreate) => api<Member[]>(`/projects/${id}/members`, { method: 'POST', body: m }),
  removeMember: (id: number, userId: number) => api<void>(`/projects/${id}/members/${userId}`, { method: 'DELETE' }),
  /** Every annotation of the project (the list is paged; this reads all pages). */
  annotations: (id: number) => allPages<Annotation>(`/projects/${id}/annotations`),
  import: (id: number, file: File, format: ImportFormat | 'auto', onProgress?: (p: UploadProgress) => void) => {
    const form = new FormData();
    if (format !== 'auto') form.append('format', format);
    form.append('file', file, file.name);
    return uploadForm<ImportResult>(`/projects/${id}/import`, form, onProgress);
  },
  exportCoco: (id: number) => apiBlob(`/projects/${id}/export`, { query: { format: 'coco' } }),
  prelabel: (id: number, body: { model_id: number; confidence: number; only_unlabeled: boolean }) =>
    api<PrelabelRun>(`/projects/${id}/prelabel`, { method: 'POST', body }),
  prelabelRun: (runId: number) => api<PrelabelRun>(`/prelabel/${runId}`),
  /** The project's pre-label runs, newest first. */
  prelabelRuns: (id: number) => api<PrelabelRun[]>(`/projects/${id}/prelabel`),
};

export const images = {
  page: (projectId: number, page: number, perPage: number) =>
    api<Page<Image> | Image[]>(`/projects/${projectId}/images`, { query: { page, per_page: perPage } }).then((r) =>
      Array.isArray(r) ? { items: r, total: r.length, page, per_page: perPage } : r,
    ),
  get: (id: number) => api<Image>(`/images/${id}`),
  setClass: (id: number, classLabel: string | null) => api<Image>(`/images/${id}`, { method: 'PATCH', body: { class_label: classLabel } }),
  remove: (id: number) => api<void>(`/images/${id}`, { method: 'DELETE' }),
  /** Uploads several files in one request (parts named `files`). */
  upload: (projectId: number, files: File[], onProgress?: (p: UploadProgress) => void, signal?: AbortSignal) => {
    const form = new FormData();
    for (const f of files) form.append('files', f, f.name);
    return uploadForm<UploadResult | Image[]>(`/projects/${projectId}/images`, form, onProgress, { signal }).then(
      (r): UploadResult => (Array.isArray(r) ? { images: r, skipped: [] } : { images: r.images ?? [], skipped: r.skipped ?? [] }),
    );
  },
  /** The image-level class of every image in the project that has one (all pages). */
  classLabels: (projectId: number) =>
    allPages<Image>(`/projects/${projectId}/images`).then((l) => l.map((i) => i.class_label).filter((c): c is string => !!c)),
  /** The image file; fetched with the token and shown through an object URL. */
  file: (id: number, signal?: AbortSignal) => apiBlob(`/images/${id}/file`, { signal }).then((r) => r.blob),
};

export const annotations = {
  forImage: (imageId: number) => api<Annotation[] | Page<Annotation>>(`/images/${imageId}/annotations`).then(itemsOf),
  create: (imageId: number, a: AnnotationCreate) => api<Annotation>(`/images/${imageId}/annotations`, { method: 'POST', body: a }),
  /** Saves a prediction the server signed (its `accept_token`) as a `custom_model` annotation. */
  accept: (imageId: number, acceptToken: string) =>
    api<Annotation>(`/images/${imageId}/annotations/accept`, { method: 'POST', body: { accept_token: acceptToken } }),
  update: (id: number, patch: AnnotationPatch) => api<Annotation>(`/annotations/${id}`, { method: 'PATCH', body: patch }),
  remove: (id: number) => api<void>(`/annotations/${id}`, { method: 'DELETE' }),
};

export const plugins = {
  list: () => api<Plugin[] | Page<Plugin>>('/plugins').then(itemsOf),
  get: (id: number) => api<Plugin>(`/plugins/${id}`),
  upload: (file: File, onProgress?: (p: UploadProgress) => void) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return uploadForm<Plugin>('/plugins', form, onProgress);
  },
  remove: (id: number) => api<void>(`/plugins/${id}`, { method: 'DELETE' }),
  setEnabled: (id: number, enabled: boolean) => api<Plugin>(`/plugins/${id}`, { method: 'PATCH', body: { enabled } }),
  setDefault: (kind: PluginKind, pluginId: number) => api<unknown>(`/plugins/defaults/${kind}`, { method: 'PUT', body: { plugin_id: pluginId } }),
};

export const jobs = {
  list: (status?: JobStatus) => api<TrainingJob[] | Page<TrainingJob>>('/training/jobs', { query: { status } }).then(itemsOf),
  get: (id: number) => api<TrainingJob>(`/training/jobs/${id}`),
  create: (config: JobConfig) => api<TrainingJob>('/training/jobs', { method: 'POST', body: config }),
  cancel: (id: number) => api<TrainingJob | void>(`/training/jobs/${id}`, { method: 'DELETE' }),
  /** The stored per-epoch rows (`training_metrics`); the WebSocket replay is the live source. */
  metrics: (id: number) => api<EpochMetrics[]>(`/training/jobs/${id}/metrics`),
  defaults: (task: TaskType) => api<TrainingDefaults>('/training/defaults', { query: { task_type: task } }),
  classes: (projects: number[]) => api<ClassCounts>('/training/classes', { query: { projects: projects.join(',') } }),
};

export const models = {
  list: (activeOnly?: boolean) =>
    api<TrainedModel[] | Page<TrainedModel>>('/models', { query: { is_active: activeOnly ? true : undefined } }).then(itemsOf),
  get: (id: number) => api<TrainedModel>(`/models/${id}`),
  update: (id: number, patch: ModelPatch) => api<TrainedModel>(`/models/${id}`, { method: 'PATCH', body: patch }),
  remove: (id: number) => api<void>(`/models/${id}`, { method: 'DELETE' }),
  /** The weights as a safetensors file. */
  download: (id: number) => apiBlob(`/models/${id}/download`),
  /** Predicts on an uploaded file (multipart part `file`). */
  predictFile: (id: number, file: File, params: { confidence?: number; iou?: number } = {}) => {
    const form = new FormData();
    form.append('file', file, file.name);
    if (params.confidence !== undefined) form.append('confidence', String(params.confidence));
    if (params.iou !== undefined) form.append('iou', String(params.iou));
    return uploadForm<PredictResponse>(`/models/${id}/predict`, form);
  },
  // ASSUMED: a project image is predicted by id with a JSON body.
  predictImage: (id: number, imageId: number, params: { confidence?: number; iou?: number } = {}) =>
    api<PredictResponse>(`/models/${id}/predict`, { method: 'POST', body: { image_id: imageId, ...params } }),
};

const MAX_PER_PAGE = 1000;

/** Reads every page of a paged list (`{items, total, page, per_page}`), or a bare list. */
export async function allPages<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; page <= 10_000; page++) {
    const r = await api<T[] | Page<T>>(path, { query: { ...query, page, per_page: MAX_PER_PAGE } });
    if (Array.isArray(r)) return r;
    out.push(...r.items);
    if (r.items.length === 0 || out.length >= r.total) break;
  }
  return out;
}

/** Lists come back either bare or as a page; the UI wants the items. */
function itemsOf<T>(r: T[] | Page<T>): T[] {
  return Array.isArray(r) ? r : (r?.items ?? []);
}
