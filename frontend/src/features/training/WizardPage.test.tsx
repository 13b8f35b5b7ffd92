import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '@/api/session';
import { mockFetch, renderApp } from '@/test/render';
import { WizardPage } from './WizardPage';

const annotations = [
  { id: 1, image_id: 1, type: 'box', class_label: 'cat', data: { corners: [[0, 0], [1, 0], [1, 1], [0, 1]] }, confidence: null, source: 'manual' },
  { id: 2, image_id: 1, type: 'box', class_label: 'dog', data: { corners: [[0, 0], [1, 0], [1, 1], [0, 1]] }, confidence: null, source: 'manual' },
  { id: 3, image_id: 2, type: 'box', class_label: 'cat', data: { corners: [[0, 0], [1, 0], [1, 1], [0, 1]] }, confidence: null, source: 'manual' },
  { id: 4, image_id: 2, type: 'polygon', class_label: 'tree', data: { points: [[0, 0], [1, 0], [1, 1]] }, confidence: null, source: 'manual' },
];

afterEach(() => vi.unstubAllGlobals());

describe('training wizard', () => {
  it('walks the six steps, submits the config and puts a server 422 on its field', async () => {
    setToken('t');
    const posted: unknown[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'user' } }),
          'GET /api/v1/projects': () => ({ body: [{ id: 3, name: 'Pets', description: null, created_at: '', image_count: 2, annotation_count: 4 }] }),
          'GET /api/v1/projects/3/annotations': () => ({ body: annotations }),
          'GET /api/v1/plugins': () => ({ body: [{ id: 1, name: 'random-split', kind: 'splitter', version: '0.1.0', hash: 'ab', is_default: true }] }),
          'POST /api/v1/training/jobs': ({ body }) => {
            posted.push(body);
            return { status: 422, body: { error: { code: 'validation', message: 'hyperparameters.epochs: must be at most 300', details: [{ field: 'hyperparameters.epochs', message: 'must be at most 300 on this server' }] } } };
          },
        }),
      ),
    );
    renderApp([{ path: '/training/new', element: <WizardPage /> }], { at: '/training/new?project=3' });
    const user = userEvent.setup({ delay: null });

    // Step 1 refuses to go on without a task.
    await user.click(await screen.findByRole('button', { name: /Next: Data/ }));
    expect(await screen.findByText('Choose what the model should do.')).toBeInTheDocument();
    await user.click(screen.getByText('Object detection'));
    await user.click(screen.getByRole('button', { name: /Next: Data/ }));

    // Step 2: the project from the URL is already chosen, with its counts.
    const row = (await screen.findByText('Pets')).closest('tr')!;
    expect(within(row).getByRole('checkbox')).toBeChecked();
    expect(within(row).getByText('4')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: /Next: Classes/ }));

    // Step 3: only boxes by default, so the polygon "tree" is not counted.
    expect(await screen.findByLabelText('Class name for cat')).toBeInTheDocument();
    expect(screen.queryByLabelText('Class name for tree')).toBeNull();
    const catRow = screen.getByLabelText('Class name for cat').closest('tr')!;
    expect(within(catRow).getByText('2')).toBeInTheDocument();
    // Merge dog into cat.
    await user.clear(screen.getByLabelText('Class name for dog'));
    await user.type(screen.getByLabelText('Class name for dog'), 'cat');
    expect(screen.getByText(/The model will learn 1 class/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: /Next: Split/ }));
    await user.click(await screen.findByRole('button', { name: /Next: Hyperparameters/ }));

    // Step 5: a bad value is flagged as it is typed.
    const epochs = await screen.findByLabelText('Epochs');
    await user.clear(epochs);
    await user.type(epochs, '0');
    expect(await screen.findByText('Must be at least 1 and at most 10000.')).toBeInTheDocument();
    await user.clear(epochs);
    await user.type(epochs, '500');
    await user.click(screen.getByRole('button', { name: /Next: Review/ }));
    await user.click(await screen.findByRole('button', { name: /Start training/ }));

    // The server refuses: back on step 5 with the message on the Epochs field.
    expect(await screen.findByText('must be at most 300 on this server')).toBeInTheDocument();
    expect(screen.getByText('The server did not accept this job')).toBeInTheDocument();
    expect(screen.getByTestId('wizard-step-4')).toBeInTheDocument();
    await waitFor(() => expect(posted).toHaveLength(1));
    expect(posted[0]).toMatchObject({
      task_type: 'detect',
      projects: [3],
      annotation_types: ['box', 'rectangle', 'circle'],
      class_mapping: { cat: 0, dog: 0 },
      class_names: ['cat'],
      split: { train_ratio: 0.8, val_ratio: 0.2, random_seed: 42 },
      hyperparameters: { epochs: 500, model: 'yolov8n.pt', imgsz: 640 },
    });
  }, 120_000);
});
