// The JSON the host speaks, mirrored from the Rust DTOs in `host/server/src/api/` and the
// domain types in `host/core`. Field names are the server's (snake_case); ids are numbers
// (i64 on the server). Where the server had not defined a DTO yet, the type follows
// DESIGN.md's "API" section and says so in one `ASSUMED:` comment, so it is easy to check
// against `/api/v1/openapi.json` later.

// ---------------------------------------------------------------------------------------
// Shared vocabulary (host/core)

export type TaskType = 'classify' | 'detect' | 'segment';
export const TASK_TYPES: readonly TaskType[] = ['classify', 'detect', 'segment'];

/** `host/core/src/annotation.rs` AnnotationType. `image_class` lives on the image. */
export type AnnotationType = 'circle' | 'box' | 'rectangle' | 'polygon' | 'image_class';
export type ShapeType = Exclude<AnnotationType, 'image_class'>;
export type AnnotationSource = 'manual' | 'custom_model';

/** `host/core/src/job.rs` JobStatus. */
export type JobStatus = 'pending' | 'preparing' | 'training' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'preparing', 'training', 'completed', 'failed', 'cancelled'];
export const isTerminalStatus = (s: JobStatus): boolean => s === 'completed' || s === 'failed' || s === 'cancelled';

/** A point `[x, y]` in image pixels. */
export type Point = [number, number];

/** `AnnotationData`: geometry in image pixels. Circle `size` is the radius. */
export type CircleData = { x: number; y: number; size: number };
export type CornersData = { corners: [Point, Point, Point, Point] };
export type PointsData = { points: Point[] };
export type AnnotationData = CircleData | CornersData | PointsData;

/** The error body of every failed call: `{"error": {code, message, details}}`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** `host/core/src/error.rs` FieldError, the unit of a 422's `details`. */
export interface FieldError {
  field: string;
  message: string;
}

// ---------------------------------------------------------------------------------------
// Auth

export type Role = 'admin' | 'user';

export interface Credentials {
  email: string;
  password: string;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  /** Seconds until the token expires. */
  expires_in?: number;
}

/** `host/server/src/api/auth.rs` UserResponse. */
export interface User {
  id: number;
  email: string;
  role: Role;
  created_at: string;
}

// ---------------------------------------------------------------------------------------
// Projects, members, images, annotations

export type MemberRole = 'owner' | 'editor' | 'viewer';

/** `host/server/src/api/projects.rs` ProjectResponse. */
export interface Project {
  id: number;
  name: string;
  description: string;
  created_by?: number | null;
  created_at: string;
  updated_at?: string;
  image_count?: number;
  annotation_count?: number;
  /** The caller's role in the project (admins act as owners). */
  role?: MemberRole;
}

export interface ProjectCreate {
  name: string;
  description?: string;
}

export interface Member {
  user_id: number;
  email: string;
  role: MemberRole;
  created_at?: string;
}

/** A user is added (or their role changed) by email or by id. */
export interface MemberCreate {
  email?: string;
  user_id?: number;
  role: MemberRole;
}

/** `host/server/src/api/images.rs` ImageResponse. */
export interface Image {
  id: number;
  project_id: number;
  filename: string;
  content_type?: string;
  width: number;
  height: number;
  size_bytes?: number;
  sha256?: string;
  class_label: string | null;
  annotation_count?: number;
  /** Where to GET the file (`?token=` works where headers cannot be sent). */
  file_url?: string;
  created_at?: string;
  updated_at?: string;
}

/** A page of a list (`host/server/src/extract.rs` Paged); `page` is 1-based, `per_page` ≤ 1000. */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

/** Upload answer: the images created, in order, and the duplicates skipped. */
export interface UploadResult {
  images: Image[];
  skipped: { filename: string; reason: string }[];
}

export interface Annotation {
  id: number;
  image_id: number;
  project_id?: number;
  created_by?: number | null;
  type: ShapeType;
  data: AnnotationData;
  class_label: string;
  confidence: number | null;
  source: AnnotationSource;
  created_at?: string;
  updated_at?: string;
}

export interface AnnotationCreate {
  type: ShapeType;
  data: AnnotationData;
  class_label: string;
  confidence?: number;
  /** Only `manual`: the server sets `custom_model` itself when a prediction is accepted. */
  source?: 'manual';
}

export type AnnotationPatch = Partial<Pick<AnnotationCreate, 'type' | 'data' | 'class_label'>>;

export type ImportFormat = 'coco' | 'yolo' | 'imagefolder';

/** `host/server/src/api/import_export.rs` ImportReport. */
export interface ImportResult {
  format: ImportFormat;
  images_imported: number;
  images_skipped: number;
  annotations_imported: number;
  annotations_skipped: number;
  /** Everything not imported, with the reason. */
  skipped: { kind: string; item: string; reason: string }[];
}

// ---------------------------------------------------------------------------------------
// Plugins

// `host/plugin-host/src/metadata.rs` Kind: one WIT world each.
export type PluginKind = 'converter' | 'splitter' | 'formatter';
export const PLUGIN_KINDS: readonly PluginKind[] = ['converter', 'splitter', 'formatter'];

export interface Plugin {
  id: number;
  name: string;
  kind: PluginKind;
  version: string;
  sha256?: string;
  hash?: string;
  description?: string | null;
  is_default: boolean;
  builtin?: boolean;
  created_at?: string;
  // The registry API (`api/plugins.rs` PluginResponse).
  /** Disabled plugins cannot be chosen for new jobs. */
  enabled?: boolean;
  /** The task types it is the default of its kind for. */
  default_for?: TaskType[];
  /** The task types it supports. */
  task_types?: TaskType[];
  /** The annotation types a converter accepts. */
  annotation_kinds?: string[];
  size_bytes?: number;
}

// ---------------------------------------------------------------------------------------
// Training jobs

export type OptimizerName = 'auto' | 'SGD' | 'AdamW' | 'Adam';

/** `host/core/src/hyperparams.rs`: Ultralytics' names and defaults; unknown names are a 422. */
export interface Hyperparameters {
  model: string;
  epochs: number;
  batch: number;
  imgsz: number;
  lr0: number;
  lrf: number;
  momentum: number;
  weight_decay: number;
  warmup_epochs: number;
  warmup_momentum?: number;
  warmup_bias_lr?: number;
  augment: boolean;
  optimizer: OptimizerName;
  patience?: number;
  cos_lr?: boolean;
  seed?: number;
  // loss gains
  box?: number;
  cls?: number;
  dfl?: number;
  // augmentation
  hsv_h?: number;
  hsv_s?: number;
  hsv_v?: number;
  degrees?: number;
  translate?: number;
  scale?: number;
  shear?: number;
  perspective?: number;
  flipud?: number;
  fliplr?: number;
  mosaic?: number;
  mixup?: number;
  close_mosaic?: number;
  // classify
  dropout?: number;
  // detect and segment
  iou?: number;
  conf?: number;
  // segment
  overlap_mask?: boolean;
  mask_ratio?: number;
}

export interface SplitConfig {
  train_ratio: number;
  val_ratio: number;
  random_seed: number;
  // ASSUMED: the split plugin is chosen by name; absent → the installed default.
  strategy?: string;
}

export interface JobConfig {
  name?: string;
  description?: string;
  task_type: TaskType;
  projects: number[];
  annotation_types: AnnotationType[];
  class_mapping: Record<string, number>;
  class_names?: string[];
  split: SplitConfig;
  hyperparameters: Hyperparameters;
}

/** Named metric values as the metrics-formatter plugin names them (`map50`, `train_box_loss`, …). */
export type MetricValues = Record<string, number>;

/** What the metrics formatter says about a metric (`jobs/events.rs` MetricInfo). */
export interface MetricInfo {
  name: string;
  label?: string;
  /** `loss`, `quality`, `learning_rate` or `other`. */
  group?: string;
  /** `true` higher is better, `false` lower is better, `null` neither. */
  higher_is_better?: boolean | null;
}

/** Metrics as rows with their value (a formatter may send them this way). */
export interface MetricRow extends MetricInfo {
  value: number;
}

/** A plugin a job used, as it records it: `{kind, name, version, sha256, options}`. */
export interface PluginRef {
  kind: PluginKind | string;
  name: string;
  version: string;
  sha256?: string;
  /** Older records. */
  hash?: string;
  options?: Record<string, unknown>;
}

/** The content hash of a plugin or plugin record, whichever field carries it. */
export const pluginHash = (p: { sha256?: string; hash?: string }): string => p.sha256 ?? p.hash ?? '';

/** The `training_datasets` row of a job (`api/training.rs` DatasetSummary). */
export interface DatasetSummary {
  total_images: number;
  train_images: number;
  val_images: number;
  class_mapping?: Record<string, number>;
  class_names?: string[] | null;
  annotation_types?: AnnotationType[];
  project_ids?: number[];
  /** The preparation report (converter warnings, skipped annotations). */
  report?: unknown;
  created_at?: string;
}

/** `host/server/src/api/training.rs` JobResponse. */
export interface TrainingJob {
  id: number;
  name: string | null;
  description?: string | null;
  task_type: TaskType;
  status: JobStatus;
  created_by?: number | null;
  created_at: string;
  updated_at?: string;
  started_at?: string | null;
  completed_at?: string | null;
  /** The normalised config (defaults filled in). */
  config?: JobConfig;
  final_metrics?: MetricValues | null;
  model_id?: number | null;
  error_message?: string | null;
  current_epoch: number;
  total_epochs: number;
  progress_percent: number;
  cancel_requested?: boolean;
  attempts?: number;
  device?: string | null;
  base_model_id?: number | null;
  projects?: number[];
  plugins?: PluginRef[];
  /** Sequence number of the job's latest event. */
  last_event_seq?: number;
  dataset?: DatasetSummary | null;
  latest_metrics?: EpochMetrics | null;
  /** Where to follow it live (add `?token=`). */
  ws_url?: string;
}

/** `GET /training/defaults?task_type=`: one hyperparameter as a form shows it. */
export interface FieldSpec {
  name: string;
  type: 'integer' | 'number' | 'boolean' | 'string' | 'choice';
  default: unknown;
  min?: number;
  max?: number;
  choices?: (string | number)[];
  multiple_of?: number;
  group: string;
  description: string;
}

export interface TrainingDefaults {
  task_type: TaskType;
  hyperparameters: Hyperparameters;
  fields: FieldSpec[];
  accepted_annotation_types: AnnotationType[];
  default_annotation_types: AnnotationType[];
  split: { train_ratio: number; val_ratio: number; random_seed: number };
}

/** `GET /training/classes?projects=1,2`: how often each label occurs in the projects. */
export interface ClassCount {
  class_label: string;
  /** Annotations per shape type (`box`, `circle`, `polygon`, `rectangle`). */
  annotations: Record<string, number>;
  total_annotations: number;
  annotated_images: number;
  /** Images whose image-level class is this label. */
  image_labels: number;
}

export interface ClassCounts {
  projects: number[];
  total_images: number;
  classes: ClassCount[];
}

/** One row of `training_metrics`. */
export interface EpochMetrics {
  epoch: number;
  metrics: MetricValues;
  epoch_time_seconds?: number | null;
  train_loss?: number | null;
  val_loss?: number | null;
  timestamp?: string;
}

// ---------------------------------------------------------------------------------------
// Job events (the WebSocket). The server's `JobEvent` is an internally tagged serde enum
// (`#[serde(tag = "type")]`); every stored event carries its sequence number `seq`.
// ASSUMED: `seq` starts at 1 and increases by exactly 1 per job; a connection opens with a
// `snapshot` carrying the job's current state and the `seq` it reflects.

interface EventBase {
  seq: number;
  job_id?: number;
  timestamp?: string;
}

export type JobEvent =
  | (EventBase & { type: 'snapshot'; job: TrainingJob })
  | (EventBase & { type: 'status_change'; status: JobStatus; previous?: JobStatus; message?: string | null })
  | (EventBase & { type: 'epoch_start'; epoch: number; total_epochs?: number })
  | (EventBase & { type: 'batch_progress'; epoch: number; batch: number; total_batches: number; loss?: number | null; progress_percent?: number })
  | (EventBase & {
      type: 'epoch_complete';
      epoch: number;
      total_epochs?: number;
      metrics: MetricValues | MetricRow[];
      metric_info?: MetricInfo[];
      epoch_time_seconds: number;
      fitness?: number | null;
      progress_percent?: number;
    })
  | (EventBase & { type: 'training_complete'; final_metrics: MetricValues | MetricRow[]; model_id: number; model_name?: string })
  | (EventBase & { type: 'training_failed'; error: string })
  | (EventBase & { type: 'log'; level?: string; message: string });

export type JobEventType = JobEvent['type'];

// ---------------------------------------------------------------------------------------
// Models and predictions

/** `host/server/src/api/models.rs` ModelResponse. */
export interface TrainedModel {
  id: number;
  training_job_id: number | null;
  name: string;
  description?: string | null;
  task_type: TaskType;
  /** The architecture, e.g. `yolov8n-seg`. */
  model_type: string;
  image_size: number;
  /** Class names by class id. */
  classes: string[];
  num_classes: number;
  /** The best epoch's named metrics. */
  performance_metrics: MetricValues | null;
  created_by?: number | null;
  created_at: string;
  updated_at?: string;
  is_active: boolean;
  /** The job's normalised config. */
  config?: JobConfig | null;
  /** The dataset it was trained on (sizes, class mapping, report). */
  dataset?: Partial<DatasetSummary> | null;
  plugins?: PluginRef[] | null;
  base_model_id?: number | null;
  /** The initial weights (`yolov8n.safetensors`, a base model's file, or `scratch: …`). */
  base_weights?: string | null;
  project_ids?: number[];
  file_size?: number | null;
  sha256?: string | null;
  download_url?: string;
}

/** PATCH /models/{id}: rename, describe, (de)activate. */
export type ModelPatch = Partial<Pick<TrainedModel, 'name' | 'description' | 'is_active'>>;

export interface ClassPrediction {
  class_id: number;
  class_label: string;
  confidence: number;
}

export interface PredictedAnnotation {
  type: 'box' | 'polygon';
  data: CornersData | PointsData;
  confidence: number;
  source: 'custom_model';
  class_label: string;
  class_id: number;
  /** `[x1, y1, x2, y2]`. */
  bbox?: [number, number, number, number];
  /** For a project image predicted by id: accept it with `POST /images/{id}/annotations/accept`. */
  accept_token?: string;
}

export interface PredictResponse {
  model_id?: number;
  model_name: string;
  task_type?: TaskType;
  image_id?: number;
  inference_time_ms: number;
  timing?: { preprocess_ms: number; inference_ms: number; postprocess_ms: number };
  // classify
  predictions?: ClassPrediction[];
  top1_class?: string;
  top1_confidence?: number;
  // detect / segment
  annotations?: PredictedAnnotation[];
  /** The size of the image the coordinates refer to. */
  image_width?: number;
  image_height?: number;
}

/** A background pre-label run (`POST /projects/{id}/prelabel` → 202, `GET /prelabel/{id}`). */
export interface PrelabelRun {
  id: number;
  project_id: number;
  model_id: number | null;
  created_by?: number | null;
  status: 'pending' | 'running' | 'completed' | 'failed' | string;
  confidence: number;
  iou: number;
  only_unlabeled: boolean;
  total_images: number;
  images_processed: number;
  images_skipped: number;
  images_labeled: number;
  annotations_created: number;
  error_message: string | null;
  created_at: string;
  started_at?: string | null;
  completed_at?: string | null;
}
