import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '@/api/session';
import type { PrelabelRun } from '@/api/types';
import { mockFetch, renderApp } from '@/test/render';
import { PrelabelDialog } from './PrelabelDialog';

const model = { id: 7, name: 'squares-n', task_type: 'detect', num_classes: 1, class_names: ['square'], is_active: true, created_at: '' };
const other = { ...model, id: 8, name: 'squares-s' };

function run(over: Partial<PrelabelRun>): PrelabelRun {
  return {
    id: 1, project_id: 3, model_id: 7, status: 'pending', confidence: 0.5, iou: 0.7, only_unlabeled: true,
    total_images: 4, images_processed: 0, images_skipped: 0, images_labeled: 0, annotations_created: 0,
    error_message: null, created_at: new Date().toISOString(), ...over,
  };
}

afterEach(() => vi.unstubAllGlobals());

describe('pre-label dialog', () => {
  it('starts a run with the chosen model and settings and follows it to the end', async () => {
    setToken('t');
    const posted: unknown[] = [];
    let polls = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'user' } }),
          'GET /api/v1/projects': () => ({ body: [] }),
          'GET /api/v1/models': () => ({ body: [model, other] }),
          // An earlier run finished; none is going.
          'GET /api/v1/projects/3/prelabel': () => ({ body: [run({ id: 1, status: 'completed', total_images: 4, images_processed: 4, images_labeled: 3, annotations_created: 5, completed_at: new Date().toISOString() })] }),
          'POST /api/v1/projects/3/prelabel': ({ body }) => {
            posted.push(body);
            return { status: 202, body: run({ id: 2 }) };
          },
          'GET /api/v1/prelabel/2': () => {
            polls += 1;
            return {
              body:
                polls < 2
                  ? run({ id: 2, status: 'running', images_processed: 2, annotations_created: 1 })
                  : run({ id: 2, status: 'completed', images_processed: 4, images_skipped: 1, images_labeled: 3, annotations_created: 4 }),
            };
          },
        }),
      ),
    );
    const onClose = vi.fn();
    renderApp([{ path: '/', element: <PrelabelDialog open onClose={onClose} projectId={3} /> }]);
    const user = userEvent.setup({ delay: null });

    // The last run is there for context, with the model's name.
    expect(await screen.findByTestId('prelabel-last')).toHaveTextContent('Last run just now with squares-n: 5 annotations on 3 images');
    const start = screen.getByRole('button', { name: 'Start pre-labelling' });
    expect(start).toBeDisabled();

    await user.click(screen.getByLabelText('Model'));
    await user.click(await screen.findByRole('option', { name: /squares-n/ }));
    await user.click(screen.getByLabelText('Skip images someone already labelled by hand'));
    await user.click(start);

    expect(await screen.findByText(/Pre-labelling… 2 of 4 images/, undefined, { timeout: 3000 })).toBeInTheDocument();
    expect(await screen.findByText(/Done: 4 annotations added to 3 of 4 images \(1 skipped/, undefined, { timeout: 4000 })).toBeInTheDocument();
    expect(posted).toEqual([{ model_id: 7, confidence: 0.5, only_unlabeled: false }]);
    await user.click(screen.getByRole('button', { name: 'Close' }));
    expect(onClose).toHaveBeenCalled();
  });

  it('follows a run that is already going instead of starting another', async () => {
    setToken('t');
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'user' } }),
          'GET /api/v1/projects': () => ({ body: [] }),
          'GET /api/v1/models': () => ({ body: [model] }),
          'GET /api/v1/projects/3/prelabel': () => ({ body: [run({ id: 9, status: 'running', total_images: 10, images_processed: 6 })] }),
          'GET /api/v1/prelabel/9': () => ({ body: run({ id: 9, status: 'running', total_images: 10, images_processed: 6 }) }),
        }),
      ),
    );
    renderApp([{ path: '/', element: <PrelabelDialog open onClose={() => {}} projectId={3} /> }]);
    expect(await screen.findByText(/already going on this project/)).toBeInTheDocument();
    expect(await screen.findByText(/Pre-labelling… 6 of 10 images/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Start pre-labelling' })).toBeNull();
  });

  it('chooses the only active model by itself', async () => {
    setToken('t');
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'user' } }),
          'GET /api/v1/projects': () => ({ body: [] }),
          'GET /api/v1/models': () => ({ body: [model] }),
          'GET /api/v1/projects/3/prelabel': () => ({ body: [] }),
        }),
      ),
    );
    renderApp([{ path: '/', element: <PrelabelDialog open onClose={() => {}} projectId={3} /> }]);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Start pre-labelling' })).toBeEnabled());
    expect(screen.getByRole('combobox', { name: 'Model' })).toHaveTextContent('squares-n');
  });

  it('shows why the server refused to start', async () => {
    setToken('t');
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'user' } }),
          'GET /api/v1/projects': () => ({ body: [] }),
          'GET /api/v1/models': () => ({ body: [model] }),
          'GET /api/v1/projects/3/prelabel': () => ({ body: [] }),
          'POST /api/v1/projects/3/prelabel': () => ({
            status: 422,
            body: { error: { code: 'validation', message: 'model_id: model 7 does not exist or you cannot see it', details: [{ field: 'model_id', message: 'model 7 does not exist or you cannot see it' }] } },
          }),
        }),
      ),
    );
    renderApp([{ path: '/', element: <PrelabelDialog open onClose={() => {}} projectId={3} modelId={7} /> }]);
    const user = userEvent.setup({ delay: null });
    await waitFor(() => expect(screen.getByRole('button', { name: 'Start pre-labelling' })).toBeEnabled());
    await user.click(screen.getByRole('button', { name: 'Start pre-labelling' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('does not exist or you cannot see it');
    expect(screen.getByRole('button', { name: 'Start pre-labelling' })).toBeEnabled();
  });
});
