import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '@/api/session';
import { mockFetch, renderApp } from '@/test/render';
import { extraDetails, PluginsPage, rejectionDetails } from './PluginsPage';

const plugin = (over: Record<string, unknown>) => ({
  kind: 'splitter', version: '0.1.0', description: '', sha256: 'ab'.repeat(32), size_bytes: 40_000, builtin: true, enabled: true,
  is_default: false, default_for: [] as string[], task_types: ['classify', 'detect', 'segment'], annotation_kinds: [], options: [], created_at: '2026-11-28T05:00:00Z', ...over,
});

afterEach(() => vi.unstubAllGlobals());

describe('plugins page', () => {
  it('lists plugins by kind, switches one off and makes another the default', async () => {
    setToken('t');
    const calls: [string, unknown][] = [];
    let random = plugin({ id: 1, name: 'random-split', is_default: true, default_for: ['classify', 'detect', 'segment'] });
    let stratified = plugin({ id: 2, name: 'stratified-split', builtin: false });
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'admin' } }),
          'GET /api/v1/openapi.json': () => ({ body: { paths: { '/api/v1/plugins': {}, '/api/v1/plugins/{id}': {}, '/api/v1/plugins/defaults/{kind}': {} } } }),
          'GET /api/v1/plugins': () => ({
            body: [random, stratified, plugin({ id: 3, kind: 'converter', name: 'yolo-detect', task_types: ['detect'], is_default: true, default_for: ['detect'] })],
          }),
          'PATCH /api/v1/plugins/2': ({ body }) => {
            calls.push(['PATCH 2', body]);
            stratified = { ...stratified, ...(body as object) };
            return { body: stratified };
          },
          'PUT /api/v1/plugins/defaults/splitter': ({ body }) => {
            calls.push(['PUT splitter', body]);
            random = { ...random, is_default: false, default_for: [] };
            stratified = { ...stratified, is_default: true, default_for: ['classify', 'detect', 'segment'] };
            return { body: [] };
          },
        }),
      ),
    );
    renderApp([{ path: '/plugins', element: <PluginsPage /> }], { at: '/plugins' });
    const user = userEvent.setup({ delay: null });

    const splitters = await screen.findByTestId('plugins-splitter');
    expect(within(screen.getByTestId('plugins-converter')).getByText('yolo-detect')).toBeInTheDocument();
    expect(within(splitters).getByText('random-split')).toBeInTheDocument();
    // The default cannot be switched off; another can.
    expect(within(splitters).getByLabelText('random-split enabled')).toBeDisabled();
    await user.click(within(splitters).getByLabelText('stratified-split enabled'));
    await waitFor(() => expect(calls).toContainEqual(['PATCH 2', { enabled: false }]));
    // Disabled, it cannot be made the default.
    await waitFor(() => expect(within(screen.getByTestId('plugins-splitter')).getByLabelText('Make stratified-split the default')).toBeDisabled());
    await user.click(within(screen.getByTestId('plugins-splitter')).getByLabelText('stratified-split enabled'));
    await waitFor(() => expect(within(screen.getByTestId('plugins-splitter')).getByLabelText('Make stratified-split the default')).toBeEnabled());

    await user.click(within(screen.getByTestId('plugins-splitter')).getByLabelText('Make stratified-split the default'));
    await waitFor(() => expect(calls).toContainEqual(['PUT splitter', { plugin_id: 2 }]));
    await waitFor(() => expect(within(screen.getByTestId('plugins-splitter')).getByLabelText('Make stratified-split the default')).toBeChecked());
    expect(within(screen.getByTestId('plugins-splitter')).getByLabelText('Make random-split the default')).not.toBeChecked();
  });

  it('refuses a file that is not a .wasm before uploading it', async () => {
    setToken('t');
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'admin' } }),
          'GET /api/v1/openapi.json': () => ({ body: { paths: { '/api/v1/plugins': {} } } }),
          'GET /api/v1/plugins': () => ({ body: [] }),
        }),
      ),
    );
    renderApp([{ path: '/plugins', element: <PluginsPage /> }], { at: '/plugins' });
    const user = userEvent.setup({ delay: null, applyAccept: false });
    await screen.findByText('No plugins installed');
    await user.upload(screen.getByTestId('plugin-input'), new File(['x'], 'notes.txt', { type: 'text/plain' }));
    expect(await screen.findByTestId('plugin-rejected')).toHaveTextContent('“notes.txt” was rejected');
    expect(screen.getByTestId('plugin-rejected')).toHaveTextContent('choose a .wasm file');
  });

  it('reads the reasons out of a rejection', () => {
    expect(rejectionDetails([{ field: 'file', message: 'not a WebAssembly component' }, 'imports wasi:sockets'])).toEqual(['file: not a WebAssembly component', 'imports wasi:sockets']);
    expect(rejectionDetails({ missing_exports: 'metadata' })).toEqual(['missing_exports: metadata']);
    expect(rejectionDetails(null)).toEqual([]);
    // What the message already says is not repeated under it.
    const message = 'the plugin was rejected: not a WebAssembly file: unknown layer';
    expect(extraDetails(message, rejectionDetails({ field: 'file', reason: 'not a WebAssembly file: unknown layer' }))).toEqual([]);
    expect(extraDetails(message, ['missing export: metadata'])).toEqual(['missing export: metadata']);
  });
});
