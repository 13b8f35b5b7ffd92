// The training monitor: status, epoch and batch progress, live loss and quality charts, the
// current metrics, epoch times and ETA, the dataset and plugins used, and cancel. It follows
// the job over the WebSocket (reconnecting and filling gaps by itself); a finished job shows
// its whole history from the same replay.

import { useEffect, useState } from 'react';
import { Link as RouterLink, useParams } from 'react-router-dom';
import {
  Alert,
  AlertTitle,
  Box,
  Button,
  Card,
  CardContent,
  CardHeader,
  Chip,
  Grid,
  LinearProgress,
  Link,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
} from '@mui/material';
import CancelIcon from '@mui/icons-material/StopCircleOutlined';
import ModelIcon from '@mui/icons-material/ViewInArOutlined';
import WifiIcon from '@mui/icons-material/Wifi';
import WifiOffIcon from '@mui/icons-material/WifiOff';
import { errorMessage } from '@/api/client';
import { useCancelJob, useJob, useProjects } from '@/api/queries';
import { isTerminalStatus, pluginHash, type TaskType, type TrainingJob } from '@/api/types';
import { ConfirmDialog } from '@/components/ConfirmDialog';
import { ErrorState } from '@/components/ErrorState';
import { formatDate, formatDuration, formatMetric } from '@/components/format';
import { LoadingState } from '@/components/LoadingState';
import { useNotify } from '@/components/notify';
import { PageHeader } from '@/components/PageHeader';
import { StatusChip } from '@/components/StatusChip';
import { TaskChip } from '@/components/TaskChip';
import { useTrainingWebSocket } from '@/ws/useTrainingWebSocket';
import type { ConnectionStatus } from '@/ws/socket';
import type { LiveJobState } from '@/ws/jobEvents';
import { MetricChart } from './MetricChart';
import { bestEpoch, etaSeconds, higherIsBetter, lossNames, metricLabel, qualityNames, totalTrainingSeconds } from './metrics';

function ConnectionChip({ status, terminal }: { status: ConnectionStatus; terminal: boolean }) {
  if (terminal) return null;
  const live = status === 'open';
  return (
    <Tooltip title={live ? 'Receiving updates as they happen' : status === 'reconnecting' ? 'Connection lost; reconnecting and catching up…' : 'Connecting…'}>
      <Chip
        size="small"
        icon={live ? <WifiIcon /> : <WifiOffIcon />}
        label={live ? 'Live' : status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…'}
        color={live ? 'success' : 'warning'}
        variant="outlined"
        data-testid="connection-status"
      />
    </Tooltip>
  );
}

function ProgressCard({ job, live }: { job: TrainingJob; live: LiveJobState }) {
  const status = live.status ?? job.status;
  const total = live.totalEpochs || job.total_epochs;
  const eta = etaSeconds(live);
  const times = live.epochs.map((e) => e.epoch_time_seconds).filter((t): t is number => typeof t === 'number');
  const mean = times.length ? times.reduce((a, b) => a + b, 0) / times.length : null;
  const batch = live.batch;
  return (
    <Card>
      <CardContent>
        <Stack direction="row" sx={{ alignItems: 'baseline', mb: 1 }} spacing={1}>
          <Typography variant="h6" sx={{ flex: 1 }} data-testid="epoch-progress">
            {status === 'pending'
              ? 'Waiting for a worker…'
              : status === 'preparing'
                ? 'Preparing the dataset…'
                : `Epoch ${Math.min(live.currentEpoch, total || live.currentEpoch)} of ${total || '?'}`}
          </Typography>
          <Typography variant="h6" color="primary">
            {Math.round(live.progressPercent)}%
          </Typography>
        </Stack>
        <LinearProgress
          variant={status === 'preparing' || status === 'pending' ? 'indeterminate' : 'determinate'}
          value={live.progressPercent}
          color={status === 'failed' ? 'error' : status === 'cancelled' ? 'warning' : status === 'completed' ? 'success' : 'primary'}
          aria-label="Training progress"
        />
        {batch && batch.total_batches > 0 && status === 'training' && (
          <Box sx={{ mt: 1.5 }}>
            <Stack direction="row" sx={{ justifyContent: 'space-between' }}>
              <Typography variant="caption" color="text.secondary">
                Batch {batch.batch} / {batch.total_batches} of epoch {batch.epoch}
              </Typography>
              {batch.loss != null && (
                <Typography variant="caption" color="text.secondary">
                  loss {formatMetric(batch.loss)}
                </Typography>
              )}
            </Stack>
            <LinearProgress variant="determinate" value={(batch.batch / batch.total_batches) * 100} sx={{ height: 4, mt: 0.5 }} color="secondary" aria-label="Batch progress" />
          </Box>
        )}
        <Grid container spacing={2} sx={{ mt: 1 }}>
          {[
            ['Time left', status !== 'training' ? '—' : eta !== null ? formatDuration(eta) : 'estimating…'],
            ['Per epoch', formatDuration(mean)],
            ['Training time', live.epochs.length ? formatDuration(totalTrainingSeconds(live.epochs)) : '—'],
            ['Started', formatDate(job.started_at)],
          ].map(([k, v]) => (
            <Grid key={k} size={{ xs: 6, sm: 3 }}>
              <Typography variant="caption" color="text.secondary">
                {k}
              </Typography>
              <Typography sx={{ fontWeight: 600 }}>{v}</Typography>
            </Grid>
          ))}
        </Grid>
      </CardContent>
    </Card>
  );
}

function CurrentMetrics({ task, live }: { task: TaskType; live: LiveJobState }) {
  const last = live.epochs[live.epochs.length - 1];
  const names = [...qualityNames(task, live.epochs, live.metricMeta), ...lossNames(live.epochs, live.metricMeta)];
  return (
    <Card sx={{ height: '100%' }}>
      <CardHeader title="Current metrics" subheader={last ? `After epoch ${last.epoch}` : undefined} />
      <CardContent sx={{ pt: 0 }}>
        {!last ? (
          <Typography color="text.secondary" variant="body2">
            Metrics appear after the first epoch is validated.
          </Typography>
        ) : (
          <Table size="small" data-testid="current-metrics">
            <TableHead>
              <TableRow>
                <TableCell>Metric</TableCell>
                <TableCell align="right">Now</TableCell>
                <TableCell align="right">Best</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {names.map((n) => {
                const best = bestEpoch(live.epochs, n, live.metricMeta[n]);
                return (
                  <TableRow key={n}>
                    <TableCell>{metricLabel(n, live.metricMeta[n])}</TableCell>
                    <TableCell align="right" sx={{ fontVariantNumeric: 'tabular-nums' }}>
                      {formatMetric(last.metrics[n])}
                    </TableCell>
                    <TableCell align="right" sx={{ fontVariantNumeric: 'tabular-nums', color: 'text.secondary' }}>
                      {best ? (
                        <Tooltip title={`Epoch ${best.epoch} (${higherIsBetter(n, live.metricMeta[n]) ? 'higher' : 'lower'} is better)`}>
                          <span>{formatMetric(best.metrics[n])}</span>
                        </Tooltip>
                      ) : (
                        '—'
                      )}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}

function DetailsCard({ job }: { job: TrainingJob }) {
  const d = job.dataset;
  const cfg = job.config;
  const projects = useProjects();
  const projectName = (id: number) => projects.data?.find((p) => p.id === id)?.name;
  return (
    <Card sx={{ height: '100%' }}>
      <CardHeader title="Dataset and setup" />
      <CardContent sx={{ pt: 0 }}>
        <Table size="small">
          <TableBody>
            {d && (
              <TableRow>
                <TableCell sx={{ color: 'text.secondary' }}>Images</TableCell>
                <TableCell>
                  {d.total_images} ({d.train_images} train / {d.val_images} val)
                </TableCell>
              </TableRow>
            )}
            {(d?.class_names ?? cfg?.class_names) && (
              <TableRow>
                <TableCell sx={{ color: 'text.secondary' }}>Classes</TableCell>
                <TableCell>{(d?.class_names ?? cfg?.class_names ?? []).join(', ')}</TableCell>
              </TableRow>
            )}
            {cfg && (
              <>
                <TableRow>
                  <TableCell sx={{ color: 'text.secondary' }}>Projects</TableCell>
                  <TableCell>
                    {cfg.projects.map((id, i) => (
                      <span key={id}>
                        {i > 0 && ', '}
                        {projectName(id) ? <Link component={RouterLink} to={`/projects/${id}`}>{projectName(id)}</Link> : `#${id}`}
                      </span>
                    ))}
                  </TableCell>
                </TableRow>
                <TableRow>
                  <TableCell sx={{ color: 'text.secondary' }}>Model</TableCell>
                  <TableCell>
                    {cfg.hyperparameters.model} · {cfg.hyperparameters.imgsz} px · batch {cfg.hyperparameters.batch}
                  </TableCell>
                </TableRow>
                <TableRow>
                  <TableCell sx={{ color: 'text.secondary' }}>Split</TableCell>
                  <TableCell>
                    {Math.round(cfg.split.train_ratio * 100)}/{Math.round(cfg.split.val_ratio * 100)}, seed {cfg.split.random_seed}
                  </TableCell>
                </TableRow>
              </>
            )}
            {(job.plugins ?? []).map((p) => (
              <TableRow key={`${p.kind}-${p.name}`}>
                <TableCell sx={{ color: 'text.secondary', textTransform: 'capitalize' }}>{String(p.kind).replace('_', ' ')}</TableCell>
                <TableCell>
                  {p.name} {p.version}{' '}
                  <Typography component="span" variant="caption" color="text.secondary" sx={{ fontFamily: 'monospace' }} title={pluginHash(p)}>
                    {pluginHash(p).slice(0, 12)}
                  </Typography>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        {!d && !cfg && (
          <Typography variant="body2" color="text.secondary">
            The dataset summary appears once the data is prepared.
          </Typography>
        )}
      </CardContent>
    </Card>
  );
}

function ActivityCard({ live }: { live: LiveJobState }) {
  if (!live.activity.length) return null;
  const rows = [...live.activity].reverse();
  return (
    <Card>
      <CardHeader title="Activity" subheader="What the job reported, newest first" />
      <Box sx={{ maxHeight: 220, overflow: 'auto', px: 2, pb: 2 }} data-testid="job-activity">
        {rows.map((a) => (
          <Stack key={`${a.seq}-${a.message}`} direction="row" spacing={1.5} sx={{ py: 0.5, alignItems: 'baseline' }}>
            <Typography variant="caption" color="text.secondary" sx={{ minWidth: 64, fontVariantNumeric: 'tabular-nums' }}>
              {a.timestamp ? new Date(a.timestamp).toLocaleTimeString() : `#${a.seq}`}
            </Typography>
            <Typography variant="body2" color={a.level === 'error' ? 'error' : a.level === 'warning' ? 'warning.dark' : 'text.primary'}>
              {a.message}
            </Typography>
          </Stack>
        ))}
      </Box>
    </Card>
  );
}

function EpochTable({ live, task }: { live: LiveJobState; task: TaskType }) {
  const q = qualityNames(task, live.epochs, live.metricMeta).slice(0, 4);
  const l = lossNames(live.epochs, live.metricMeta).filter((n) => n.startsWith('val_') || !n.startsWith('train_')).slice(0, 3);
  const cols = [...q, ...l];
  const rows = [...live.epochs].reverse();
  return (
    <Card>
      <CardHeader title="Epochs" subheader="Newest first" />
      <Box sx={{ maxHeight: 320, overflow: 'auto' }}>
        <Table size="small" stickyHeader>
          <TableHead>
            <TableRow>
              <TableCell>Epoch</TableCell>
              <TableCell align="right">Time</TableCell>
              {cols.map((c) => (
                <TableCell key={c} align="right">
                  {metricLabel(c, live.metricMeta[c])}
                </TableCell>
              ))}
            </TableRow>
          </TableHead>
          <TableBody>
            {rows.map((e) => (
              <TableRow key={e.epoch}>
                <TableCell>{e.epoch}</TableCell>
                <TableCell align="right">{formatDuration(e.epoch_time_seconds)}</TableCell>
                {cols.map((c) => (
                  <TableCell key={c} align="right" sx={{ fontVariantNumeric: 'tabular-nums' }}>
                    {formatMetric(e.metrics[c])}
                  </TableCell>
                ))}
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Box>
    </Card>
  );
}

export function JobMonitorPage() {
  const jobId = Number(useParams().jobId);
  const job = useJob(jobId);
  const { state: live, connection } = useTrainingWebSocket(jobId, job.data, job.isSuccess);
  const cancel = useCancelJob();
  const notify = useNotify();
  const [confirm, setConfirm] = useState(false);
  const status = live.status ?? job.data?.status ?? 'pending';
  const terminal = isTerminalStatus(status);

  // While the socket is down, poll the job so the page never looks frozen.
  useEffect(() => {
    if (terminal || connection === 'open') return;
    const t = setInterval(() => job.refetch(), 5000);
    return () => clearInterval(t);
  }, [terminal, connection, job]);

  if (job.isPending) return <LoadingState label="Loading training job…" />;
  if (job.isError) return <ErrorState error={job.error} title="Could not load this training job" onRetry={() => job.refetch()} />;
  const j = job.data;
  const task = j.task_type;
  const losses = lossNames(live.epochs, live.metricMeta);
  const quality = qualityNames(task, live.epochs, live.metricMeta);
  const boxQ = quality.filter((n) => !n.startsWith('mask_'));
  const maskQ = quality.filter((n) => n.startsWith('mask_'));
  const modelId = live.modelId ?? j.model_id;

  return (
    <>
      <PageHeader
        crumbs={[{ label: 'Training jobs', to: '/jobs' }, { label: `#${j.id}` }]}
        title={j.name || `Training job #${j.id}`}
        subtitle={
          <Stack direction="row" useFlexGap sx={{ alignItems: 'center', flexWrap: 'wrap', gap: 1 }} component="span">
            <StatusChip status={status} />
            <TaskChip task={task} />
            <ConnectionChip status={connection} terminal={terminal} />
            <Typography component="span" variant="body2" color="text.secondary">
              Created {formatDate(j.created_at)}
            </Typography>
          </Stack>
        }
        actions={
          <>
            {!terminal && (
              <Button color="error" variant="outlined" startIcon={<CancelIcon />} onClick={() => setConfirm(true)}>
                Cancel training
              </Button>
            )}
            {modelId != null && status === 'completed' && (
              <Button variant="contained" startIcon={<ModelIcon />} component={RouterLink} to={`/models/${modelId}`}>
                Open the model
              </Button>
            )}
          </>
        }
      />
      <Stack spacing={2}>
        {status === 'failed' && (
          <Alert severity="error">
            <AlertTitle>Training failed</AlertTitle>
            {live.error ?? j.error_message ?? 'The job stopped with an error.'}
          </Alert>
        )}
        {status === 'cancelled' && <Alert severity="warning">This job was cancelled. The epochs it finished are shown below.</Alert>}
        {status === 'completed' && (
          <Alert severity="success">
            Training finished{modelId != null ? '; the model is ready to use.' : '.'}
          </Alert>
        )}
        <ProgressCard job={j} live={live} />
        <Grid container spacing={2}>
          <Grid size={{ xs: 12, lg: 6 }}>
            <Card>
              <CardContent>
                <MetricChart title="Loss (train solid, validation dashed)" epochs={live.epochs} names={losses} meta={live.metricMeta} testId="loss-chart" />
              </CardContent>
            </Card>
          </Grid>
          <Grid size={{ xs: 12, lg: 6 }}>
            <Card>
              <CardContent>
                <MetricChart
                  title={task === 'classify' ? 'Accuracy' : task === 'segment' ? 'Box quality' : 'Quality'}
                  epochs={live.epochs}
                  names={boxQ}
                  meta={live.metricMeta}
                  unitInterval
                  testId="quality-chart"
                />
              </CardContent>
            </Card>
          </Grid>
          {maskQ.length > 0 && (
            <Grid size={{ xs: 12, lg: 6 }}>
              <Card>
                <CardContent>
                  <MetricChart title="Mask quality" epochs={live.epochs} names={maskQ} meta={live.metricMeta} unitInterval testId="mask-chart" />
                </CardContent>
              </Card>
            </Grid>
          )}
          <Grid size={{ xs: 12, md: 6, lg: maskQ.length ? 6 : 6 }}>
            <CurrentMetrics task={task} live={live} />
          </Grid>
          <Grid size={{ xs: 12, md: 6 }}>
            <DetailsCard job={j} />
          </Grid>
        </Grid>
        <ActivityCard live={live} />
        {live.epochs.length > 0 && <EpochTable live={live} task={task} />}
      </Stack>
      <ConfirmDialog
        open={confirm}
        title="Cancel this training?"
        body="The job stops after the current batch. Finished epochs and checkpoints are kept, but no model is registered."
        confirmLabel="Cancel training"
        busy={cancel.isPending}
        onClose={() => setConfirm(false)}
        onConfirm={() =>
          cancel.mutate(jobId, {
            onSuccess: () => {
              setConfirm(false);
              notify('Cancellation requested');
            },
            onError: (e) => notify(errorMessage(e), 'error'),
          })
        }
      />
    </>
  );
}
