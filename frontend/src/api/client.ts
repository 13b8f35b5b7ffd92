// The one way the UI calls the host: attaches the bearer token, turns every failure into an
// `ApiError` carrying the server's `{"error": {code, message, details}}`, and ends the session
// on a 401 so the user lands on sign-in with a message. Uploads go through XMLHttpRequest
// because fetch cannot report upload progress.

import { API_BASE } from '@/config';
import { endSession, getToken } from './session';
import type { ErrorBody, FieldError } from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field-level problems in `details` (a 422), normalised to `{field, message}` pairs. */
  fieldErrors(): FieldError[] {
    return fieldErrorsFrom(this.details);
  }

  get isValidation(): boolean {
    return this.status === 422 || this.status === 400;
  }
}

/**
 * `details` of a 422 in the shapes a server may reasonably send: one field error (the host
 * sends `{field, reason}`; `{field, message}` is accepted too), a list of them,
 * `{errors: [...]}`, or a map `{field: message | [messages]}`.
 */
export function fieldErrorsFrom(details: unknown): FieldError[] {
  if (details == null || typeof details !== 'object') return [];
  if (Array.isArray(details)) return details.flatMap(fieldErrorsFrom);
  const d = details as Record<string, unknown>;
  if (typeof d.field === 'string') {
    const message = typeof d.reason === 'string' ? d.reason : typeof d.message === 'string' ? d.message : null;
    if (message !== null) return [{ field: d.field, message }];
  }
  if (Array.isArray(d.errors)) return fieldErrorsFrom(d.errors);
  if (Array.isArray(d.fields)) return fieldErrorsFrom(d.fields);
  const out: FieldError[] = [];
  for (const [field, v] of Object.entries(d)) {
    if (typeof v === 'string') out.push({ field, message: v });
    else if (Array.isArray(v) && v.every((m) => typeof m === 'string')) out.push(...v.map((m) => ({ field, message: m as string })));
  }
  return out;
}

/** What to say when the server gave no usable message. */
function fallbackMessage(status: number): string {
  if (status === 401) return 'Your session has expired. Please sign in again.';
  if (status === 403) return "You don't have permission to do that.";
  if (status === 404) return 'That item no longer exists.';
  if (status === 409) return 'That conflicts with something that already exists.';
  if (status === 413) return 'That upload is too large for the server.';
  if (status === 422 || status === 400) return 'Some of the values are not valid.';
  if (status >= 500) return 'The server ran into a problem. Please try again in a moment.';
  return `The request failed (HTTP ${status}).`;
}

export const NETWORK_ERROR_MESSAGE = "Can't reach the AnnotateForge server. Check that it is running and try again.";

/** Builds an ApiError from a failed response's status and body text. */
export function errorFromResponse(status: number, bodyText: string): ApiError {
  let body: unknown = null;
  try {
    body = bodyText ? JSON.parse(bodyText) : null;
  } catch {
    // Not JSON (a proxy's HTML error page, say): fall back to a message by status.
  }
  const err = (body as Partial<ErrorBody> | null)?.error;
  if (err && typeof err === 'object' && typeof err.message === 'string' && err.message.trim()) {
    return new ApiError(status, typeof err.code === 'string' ? err.code : `http_${status}`, err.message, err.details);
  }
  return new ApiError(status, (err && typeof err.code === 'string' && err.code) || `http_${status}`, fallbackMessage(status), err?.details);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** JSON-encoded unless it is FormData or a Blob. */
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Leave a 401 to the caller (sign-in itself answers 401 for a wrong password). */
  allowUnauthorized?: boolean;
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  let url = API_BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    }
    const s = params.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  return url;
}

function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function handleUnauthorized(status: number, opts: { allowUnauthorized?: boolean }) {
  if (status === 401 && !opts.allowUnauthorized) endSession('expired');
}

async function send(path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders() };
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData || opts.body instanceof Blob) {
    body = opts.body;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), { method: opts.method ?? 'GET', headers, body, signal: opts.signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', NETWORK_ERROR_MESSAGE);
  }
  if (!res.ok) {
    handleUnauthorized(res.status, opts);
    throw errorFromResponse(res.status, await res.text().catch(() => ''));
  }
  return res;
}

/** Calls the API and parses the JSON answer (`undefined` for 204 No Content). */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent an answer the app could not read.');
  }
}

/** Calls the API and returns the body as a Blob with the server's file name, for downloads. */
export async function apiBlob(path: string, opts: RequestOptions = {}): Promise<{ blob: Blob; filename: string | null }> {
  const res = await send(path, opts);
  const cd = res.headers.get('Content-Disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return { blob: await res.blob(), filename: m ? decodeURIComponent(m[1]) : null };
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * POSTs a multipart form and reports upload progress. Resolves with the parsed JSON answer;
 * rejects with an ApiError exactly like `api`.
 */
export function uploadForm<T>(
  path: string,
  form: FormData,
  onProgress?: (p: UploadProgress) => void,
  opts: { signal?: AbortSignal; method?: 'POST' | 'PUT' } = {},
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(opts.method ?? 'POST', apiUrl(path));
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    if (onProgress) {
      xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : 0 });
    }
    xhr.onerror = () => reject(new ApiError(0, 'network', NETWORK_ERROR_MESSAGE));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        if (!xhr.responseText) return resolve(undefined as T);
        try {
          resolve(JSON.parse(xhr.responseText) as T);
        } catch {
          reject(new ApiError(xhr.status, 'bad_response', 'The server sent an answer the app could not read.'));
        }
        return;
      }
      handleUnauthorized(xhr.status, {});
      reject(errorFromResponse(xhr.status, xhr.responseText));
    };
    opts.signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}

/** A message for any thrown value, for error alerts. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error && e.message) return e.message;
  return 'Something went wrong.';
}
