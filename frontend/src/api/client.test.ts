import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, apiBlob, apiUrl, ApiError, errorFromResponse, fieldErrorsFrom, NETWORK_ERROR_MESSAGE, uploadForm } from './client';
import { getToken, onSessionEnd, setToken } from './session';

/** The ApiError a call fails with (and a test failure if it succeeds). */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected the call to fail');
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

describe('api()', () => {
  const fetchMock = vi.fn<typeof fetch>();
  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('attaches the bearer token and JSON body, and parses the answer', async () => {
    setToken('tok-1');
    fetchMock.mockResolvedValueOnce(jsonResponse(201, { id: 7, name: 'cats' }));
    const p = await api<{ id: number }>('/projects', { method: 'POST', body: { name: 'cats' } });
    expect(p).toEqual({ id: 7, name: 'cats' });
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/api/v1/projects');
    expect(init?.method).toBe('POST');
    expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer tok-1');
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    expect(init?.body).toBe('{"name":"cats"}');
  });

  it('returns undefined for 204 No Content', async () => {
    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }));
    await expect(api('/models/3', { method: 'DELETE' })).resolves.toBeUndefined();
  });

  it('turns the error body into an ApiError with code, message and details', async () => {
    fetchMock.mockResolvedValueOnce(
      jsonResponse(422, { error: { code: 'validation', message: 'epochs: must be at least 1', details: [{ field: 'hyperparameters.epochs', message: 'must be at least 1' }] } }),
    );
    const err = await failure(api('/training/jobs', { method: 'POST', body: {} }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe('validation');
    expect(err.message).toBe('epochs: must be at least 1');
    expect(err.fieldErrors()).toEqual([{ field: 'hyperparameters.epochs', message: 'must be at least 1' }]);
  });

  it('on 401 ends the session, clears the token and tells listeners it expired', async () => {
    setToken('old');
    const reasons: string[] = [];
    const off = onSessionEnd((r) => reasons.push(r));
    fetchMock.mockResolvedValue(jsonResponse(401, { error: { code: 'unauthorized', message: 'token expired' } }));
    const e1 = await failure(api('/projects'));
    // A second 401 right after (parallel calls) must not redirect twice.
    await api('/models').catch(() => {});
    off();
    expect(e1).toBeInstanceOf(ApiError);
    expect(e1.status).toBe(401);
    expect(getToken()).toBeNull();
    expect(reasons).toEqual(['expired']);
  });

  it('leaves a 401 to the caller when asked (a wrong password is not an expired session)', async () => {
    setToken('keep');
    const listener = vi.fn();
    const off = onSessionEnd(listener);
    fetchMock.mockResolvedValueOnce(jsonResponse(401, { error: { code: 'unauthorized', message: 'wrong email or password' } }));
    const err = await failure(api('/auth/login', { method: 'POST', body: {}, allowUnauthorized: true }));
    off();
    expect(err.message).toBe('wrong email or password');
    expect(listener).not.toHaveBeenCalled();
    expect(getToken()).toBe('keep');
  });

  it('explains a network failure in words', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    const err = await failure(api('/projects'));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('network');
    expect(err.message).toBe(NETWORK_ERROR_MESSAGE);
  });

  it('sends the token only as a header, never in the URL (the host refuses ?token= on REST routes)', async () => {
    setToken('tok-url');
    fetchMock.mockImplementation(async () => new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } }));
    await api('/projects/3/images', { query: { page: 2 } });
    await api('/images/4', { method: 'DELETE' });
    await apiBlob('/projects/3/export', { query: { format: 'coco' } });
    await apiBlob('/models/5/download');
    for (const [url, init] of fetchMock.mock.calls) {
      expect(String(url)).not.toContain('token');
      expect((init?.headers as Record<string, string>).Authorization).toBe('Bearer tok-url');
    }
  });

  it('falls back to a message by status for non-JSON errors', () => {
    expect(errorFromResponse(502, '<html>Bad gateway</html>').message).toMatch(/server ran into a problem/);
    expect(errorFromResponse(403, '').message).toMatch(/permission/);
    expect(errorFromResponse(404, '{"error":{"code":"not_found","message":""}}').code).toBe('not_found');
  });
});

describe('apiUrl', () => {
  it('drops empty query values and encodes the rest', () => {
    expect(apiUrl('/training/jobs', { status: undefined })).toBe('/api/v1/training/jobs');
    expect(apiUrl('/projects/1/images', { page: 2, per_page: 48, q: 'a b' })).toBe('/api/v1/projects/1/images?page=2&per_page=48&q=a+b');
  });
});

describe('fieldErrorsFrom', () => {
  it('reads the shapes a 422 may carry', () => {
    expect(fieldErrorsFrom({ field: 'name', message: 'taken' })).toEqual([{ field: 'name', message: 'taken' }]);
    // The host's AppError::Validation shape.
    expect(fieldErrorsFrom({ field: 'hyperparameters.epochs', reason: 'must be between 1 and 10000, got 0' })).toEqual([
      { field: 'hyperparameters.epochs', message: 'must be between 1 and 10000, got 0' },
    ]);
    expect(fieldErrorsFrom([{ field: 'a', reason: 'x' }, { field: 'b', reason: 'y' }])).toHaveLength(2);
    expect(fieldErrorsFrom({ errors: [{ field: 'a', message: 'x' }] })).toEqual([{ field: 'a', message: 'x' }]);
    expect(fieldErrorsFrom({ 'split.train_ratio': 'too high', lr0: ['must be > 0', 'must be ≤ 1'] })).toEqual([
      { field: 'split.train_ratio', message: 'too high' },
      { field: 'lr0', message: 'must be > 0' },
      { field: 'lr0', message: 'must be ≤ 1' },
    ]);
    expect(fieldErrorsFrom(null)).toEqual([]);
    expect(fieldErrorsFrom('just text')).toEqual([]);
  });
});

describe('uploadForm', () => {
  class FakeXhr {
    static last: FakeXhr;
    method = '';
    url = '';
    headers: Record<string, string> = {};
    status = 0;
    responseText = '';
    upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    onabort: (() => void) | null = null;
    body: unknown;
    constructor() {
      FakeXhr.last = this;
    }
    open(m: string, u: string) {
      this.method = m;
      this.url = u;
    }
    setRequestHeader(k: string, v: string) {
      this.headers[k] = v;
    }
    send(b: unknown) {
      this.body = b;
    }
    abort() {
      this.onabort?.();
    }
    respond(status: number, body: unknown) {
      this.status = status;
      this.responseText = JSON.stringify(body);
      this.onload?.();
    }
  }
  beforeEach(() => vi.stubGlobal('XMLHttpRequest', FakeXhr));
  afterEach(() => vi.unstubAllGlobals());

  it('reports progress and resolves with the JSON answer', async () => {
    setToken('t');
    const seen: number[] = [];
    const form = new FormData();
    const p = uploadForm<{ images: unknown[] }>('/projects/1/images', form, (e) => seen.push(e.loaded / e.total));
    const x = FakeXhr.last;
    expect(x.method).toBe('POST');
    expect(x.url).toBe('/api/v1/projects/1/images');
    expect(x.headers.Authorization).toBe('Bearer t');
    x.upload.onprogress?.({ loaded: 50, total: 100, lengthComputable: true } as ProgressEvent);
    x.upload.onprogress?.({ loaded: 100, total: 100, lengthComputable: true } as ProgressEvent);
    x.respond(201, { images: [{ id: 1 }] });
    await expect(p).resolves.toEqual({ images: [{ id: 1 }] });
    expect(seen).toEqual([0.5, 1]);
  });

  it('rejects with an ApiError carrying the server reason', async () => {
    const p = uploadForm('/plugins', new FormData());
    FakeXhr.last.respond(422, { error: { code: 'invalid_plugin', message: 'the component does not export the converter world', details: { missing: 'convert' } } });
    const err = await failure(p);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('invalid_plugin');
    expect(err.details).toEqual({ missing: 'convert' });
  });
});
