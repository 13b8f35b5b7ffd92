import { act, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '@/api/session';
import { FakeSocket } from '@/test/fakeSocket';
import { mockFetch, renderApp } from '@/test/render';
import { setSocketFactory } from '@/ws/socket';
import { JobMonitorPage } from './JobMonitorPage';

const job = {
  id: 5,
  name: 'squares',
  task_type: 'detect',
  status: 'pending',
  created_at: '2026-01-01T00:00:00Z',
  current_epoch: 0,
  total_epochs: 3,
  progress_percent: 0,
  config: { task_type: 'detect', projects: [1], annotation_types: ['box'], class_mapping: { sq: 0 }, class_names: ['sq'], split: { train_ratio: 0.8, val_ratio: 0.2, random_seed: 42 }, hyperparameters: { model: 'yolov8n.pt', epochs: 3, batch: 4, imgsz: 64 } },
  plugins: [{ kind: 'converter', name: 'converter-detect', version: '0.1.0', sha256: 'abcdef0123456789' }],
};

const epoch = (seq: number, e: number) => ({
  seq,
  type: 'epoch_complete',
  epoch: e,
  total_epochs: 3,
  metrics: { train_box_loss: 2 / e, val_box_loss: 2.2 / e, map50: e / 5, map50_95: e / 10 },
  metric_info: [
    { name: 'map50', label: 'mAP50', group: 'quality', higher_is_better: true },
    { name: 'map50_95', label: 'mAP50-95', group: 'quality', higher_is_better: true },
    { name: 'train_box_loss', label: 'train box', group: 'loss', higher_is_better: false },
    { name: 'val_box_loss', label: 'val box', group: 'loss', higher_is_better: false },
  ],
  epoch_time_seconds: 2,
  progress_percent: (e / 3) * 100,
});

describe('training monitor', () => {
  let restore: ReturnType<typeof setSocketFactory>;
  beforeEach(() => {
    FakeSocket.reset();
    restore = setSocketFactory((url) => new FakeSocket(url) as unknown as WebSocket);
    setToken('t');
    vi.stubGlobal(
      'fetch',
      vi.fn(
        mockFetch({
          'GET /api/v1/auth/me': () => ({ body: { id: 1, email: 'a@b.c', role: 'user', created_at: '' } }),
          'GET /api/v1/training/jobs/5': () => ({ body: job }),
        }),
      ),
    );
  });
  afterEach(() => {
    setSocketFactory(restore);
    vi.unstubAllGlobals();
  });

  it('follows the job live: status, epochs, charts, metrics, then the model', async () => {
    renderApp([{ path: '/jobs/:jobId', element: <JobMonitorPage /> }], { at: '/jobs/5' });
    expect(await screen.findByText('Waiting for a worker…')).toBeInTheDocument();
    await waitFor(() => expect(FakeSocket.all.length).toBe(1));
    const s = FakeSocket.last();
    expect(new URL(s.url).pathname).toBe('/api/v1/training/ws/5');
    act(() => {
      s.open();
      s.send({ type: 'snapshot', job_id: 5, last_seq: 0, job });
      s.send({ seq: 1, type: 'status_change', status: 'preparing', message: 'Converting 8 images' });
      s.send({ seq: 2, type: 'status_change', status: 'training' });
      s.send({ seq: 3, type: 'epoch_start', epoch: 1, total_epochs: 3 });
      s.send({ seq: 4, type: 'batch_progress', epoch: 1, batch: 1, total_batches: 2, loss: 3.1, progress_percent: 16 });
    });
    // Query-cache notifications are batched on a timer: wait for the render.
    expect(await screen.findByText('Live')).toBeInTheDocument();
    expect(await screen.findByText('Batch 1 / 2 of epoch 1')).toBeInTheDocument();
    expect(screen.getByText('Preparing the dataset: Converting 8 images')).toBeInTheDocument();
    expect(screen.getByTestId('loss-chart')).toHaveAttribute('data-points', '0');

    act(() => s.send(epoch(5, 1)));
    await waitFor(() => expect(screen.getByTestId('epoch-progress')).toHaveTextContent('Epoch 1 of 3'));
    expect(screen.getByTestId('loss-chart')).toHaveAttribute('data-points', '1');
    act(() => {
      s.send({ seq: 6, type: 'epoch_start', epoch: 2, total_epochs: 3 });
      s.send(epoch(7, 2));
    });
    await waitFor(() => expect(screen.getByTestId('quality-chart')).toHaveAttribute('data-points', '2'));
    // Current metrics use the formatter's labels; best of mAP50 is epoch 2's 0.4.
    const table = screen.getByTestId('current-metrics');
    expect(table).toHaveTextContent('mAP50-95');
    expect(table).toHaveTextContent('0.400');

    act(() => {
      s.send(epoch(8, 3));
      s.send({ seq: 9, type: 'training_complete', final_metrics: { map50: 0.6 }, model_id: 42, model_name: 'squares' });
      s.drop(1000);
    });
    expect(await screen.findByText('Training finished; the model is ready to use.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Open the model' })).toHaveAttribute('href', '/models/42');
    expect(screen.queryByRole('button', { name: 'Cancel training' })).toBeNull();
    expect(screen.getByTestId('loss-chart')).toHaveAttribute('data-points', '3');
  });
});
