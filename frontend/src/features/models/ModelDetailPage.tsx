// One model: its metrics, classes, training curves and configuration; activate, deactivate,
// rename or delete it; try it on an image; pre-label a project with it.

import { useState } from 'react';
import { Link as RouterLink, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import {
  Box,
  Button,
  Card,
  CardContent,
  CardHeader,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Grid,
  Link,
  Stack,
  Tab,
  Table,
  TableBody,
  TableCell,
  TableRow,
  Tabs,
  TextField,
  Typography,
} from '@mui/material';
import EditIcon from '@mui/icons-material/EditOutlined';
import DeleteIcon from '@mui/icons-material/DeleteOutline';
import DownloadIcon from '@mui/icons-material/FileDownloadOutlined';
import SmartIcon from '@mui/icons-material/SmartToyOutlined';
import PowerIcon from '@mui/icons-material/PowerSettingsNew';
import { ApiError, errorMessage } from '@/api/client';
import { useDeleteModel, useJob, useModel, useProjects, useUpdateModel } from '@/api/queries';
import { pluginHash, type TrainedModel } from '@/api/types';
import { ConfirmDialog } from '@/components/ConfirmDialog';
import { ErrorState } from '@/components/ErrorState';
import { saveBlob } from '@/components/download';
import { formatBytes, formatDate, formatMetric, plural } from '@/components/format';
import * as ep from '@/api/endpoints';
import { LoadingState } from '@/components/LoadingState';
import { useNotify } from '@/components/notify';
import { PageHeader } from '@/components/PageHeader';
import { TaskChip } from '@/components/TaskChip';
import { MetricChart } from '@/features/training/MetricChart';
import { lossNames, metricLabel, qualityNames } from '@/features/training/metrics';
import { useTrainingWebSocket } from '@/ws/useTrainingWebSocket';
import { ClassChips } from './ModelsPage';
import { PrelabelDialog } from './PrelabelDialog';
import { TryModelPanel } from './TryModelPanel';

/** The training curves of the job that made a model (replayed from its event history). */
export function TrainingCurves({ jobId, task, height = 240, stacked = false }: { jobId: number; task: TrainedModel['task_type']; height?: number; stacked?: boolean }) {
  const job = useJob(jobId);
  const { state } = useTrainingWebSocket(jobId, job.data, job.isSuccess);
  if (job.isError) return <ErrorState error={job.error} title="The training job is not available" />;
  const quality = qualityNames(task, state.epochs, state.metricMeta);
  return (
    <Grid container spacing={2}>
      <Grid size={{ xs: 12, md: stacked ? 12 : 6 }}>
        <MetricChart title="Loss" epochs={state.epochs} names={lossNames(state.epochs, state.metricMeta)} meta={state.metricMeta} height={height} emptyText="No epoch history recorded." />
      </Grid>
      <Grid size={{ xs: 12, md: stacked ? 12 : 6 }}>
        <MetricChart title="Quality" epochs={state.epochs} names={quality} meta={state.metricMeta} unitInterval height={height} emptyText="No epoch history recorded." />
      </Grid>
    </Grid>
  );
}

/** How the model was trained: starting weights, data, split, plugins and settings. */
function SetupCard({ model: m }: { model: TrainedModel }) {
  const [showConfig, setShowConfig] = useState(false);
  const projects = useProjects();
  const hp = m.config?.hyperparameters;
  const d = m.dataset;
  const rows: [string, React.ReactNode][] = [];
  if (m.base_weights)
    rows.push([
      'Started from',
      // The host says why in a sentence with paths; the short form is what a person needs.
      /scratch/i.test(m.base_weights) ? <span title={m.base_weights}>random weights (no pretrained weights were installed)</span> : m.base_weights,
    ]);
  if (m.project_ids?.length)
    rows.push([
      'Projects',
      <Stack key="p" direction="row" useFlexGap sx={{ flexWrap: 'wrap', gap: 1 }}>
        {m.project_ids.map((id) => (
          <Link key={id} component={RouterLink} to={`/projects/${id}`}>
            {projects.data?.find((p) => p.id === id)?.name ?? `#${id}`}
          </Link>
        ))}
      </Stack>,
    ]);
  if (d?.total_images != null) rows.push(['Images', `${d.total_images} (${d.train_images ?? '?'} train / ${d.val_images ?? '?'} val)`]);
  if (hp) rows.push(['Settings', `${hp.epochs} epochs · batch ${hp.batch} · ${hp.imgsz} px · optimizer ${hp.optimizer}${hp.optimizer === 'auto' ? '' : ` · lr0 ${hp.lr0}`}`]);
  if (m.config?.split) rows.push(['Split', `${Math.round(m.config.split.train_ratio * 100)}/${Math.round(m.config.split.val_ratio * 100)}, seed ${m.config.split.random_seed}${m.config.split.strategy ? ` · ${m.config.split.strategy}` : ''}`]);
  for (const p of m.plugins ?? []) rows.push([`Plugin (${String(p.kind)})`, `${p.name} ${p.version} · ${pluginHash(p).slice(0, 12)}`]);
  if (m.file_size) rows.push(['Weights', `${formatBytes(m.file_size)}${m.sha256 ? ` · sha256 ${m.sha256.slice(0, 12)}…` : ''}`]);
  if (!rows.length && !m.config) return null;
  return (
    <Card>
      <CardHeader title="How it was trained" action={m.config ? <Button size="small" onClick={() => setShowConfig((v) => !v)}>{showConfig ? 'Hide config' : 'Full config'}</Button> : undefined} />
      <CardContent sx={{ pt: 0 }}>
        <Table size="small">
          <TableBody>
            {rows.map(([k, v]) => (
              <TableRow key={k}>
                <TableCell sx={{ color: 'text.secondary', width: 180 }}>{k}</TableCell>
                <TableCell>{v}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        {showConfig && (
          <Box component="pre" sx={{ mt: 2, p: 1.5, bgcolor: 'background.default', borderRadius: 1, fontSize: 12, maxHeight: 320, overflow: 'auto' }}>
            {JSON.stringify(m.config, null, 2)}
          </Box>
        )}
      </CardContent>
    </Card>
  );
}

function RenameDialog({ model, open, onClose }: { model: TrainedModel; open: boolean; onClose: () => void }) {
  const update = useUpdateModel();
  const [name, setName] = useState(model.name);
  const [description, setDescription] = useState(model.description ?? '');
  const [error, setError] = useState<string | null>(null);
  const save = () => {
    if (!name.trim()) return setError('The name cannot be empty.');
    update.mutate(
      { id: model.id, patch: { name: name.trim(), description } },
      {
        onSuccess: onClose,
        onError: (e) => setError(e instanceof ApiError && e.status === 409 ? 'Another model already has this name.' : (e instanceof ApiError && e.fieldErrors()[0]?.message) || errorMessage(e)),
      },
    );
  };
  return (
    <Dialog open={open} onClose={onClose} maxWidth="sm" fullWidth>
      <DialogTitle>Rename model</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} error={!!error} helperText={error ?? 'Model names are unique.'} autoFocus />
          <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} multiline minRows={2} />
        </Stack>
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2 }}>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={save} disabled={update.isPending}>
          Save
        </Button>
      </DialogActions>
    </Dialog>
  );
}

export function ModelDetailPage() {
  const modelId = Number(useParams().modelId);
  const model = useModel(modelId);
  const update = useUpdateModel();
  const remove = useDeleteModel();
  const notify = useNotify();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') ?? 'overview';
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [prelabel, setPrelabel] = useState(false);

  if (model.isPending) return <LoadingState label="Loading model…" />;
  if (model.isError) return <ErrorState error={model.error} title="Could not load this model" onRetry={() => model.refetch()} />;
  const m = model.data;
  // The validation scores and losses; the training losses and learning rates are in the curves.
  const metrics = Object.entries(m.performance_metrics ?? {}).filter(([k, v]) => typeof v === 'number' && !/^train[/_]|^lr[/_]/.test(k));
  const download = async () => {
    try {
      const { blob, filename } = await ep.models.download(m.id);
      saveBlob(blob, filename ?? `${m.name}.safetensors`);
    } catch (e) {
      notify(errorMessage(e), 'error');
    }
  };

  return (
    <>
      <PageHeader
        crumbs={[{ label: 'Models', to: '/models' }, { label: m.name }]}
        title={m.name}
        subtitle={
          <Stack direction="row" useFlexGap component="span" sx={{ alignItems: 'center', flexWrap: 'wrap', gap: 1 }}>
            <TaskChip task={m.task_type} />
            <Chip size="small" label={m.is_active ? 'Active' : 'Inactive'} color={m.is_active ? 'success' : 'default'} />
            <Typography component="span" variant="body2" color="text.secondary">
              {m.model_type} · {m.image_size} px · {plural(m.num_classes, 'class', 'classes')} · created {formatDate(m.created_at)}
            </Typography>
          </Stack>
        }
        actions={
          <>
            <Button
              variant="outlined"
              startIcon={<PowerIcon />}
              onClick={() => update.mutate({ id: m.id, patch: { is_active: !m.is_active } }, { onSuccess: (r) => notify(r.is_active ? 'Model activated' : 'Model deactivated'), onError: (e) => notify(errorMessage(e), 'error') })}
            >
              {m.is_active ? 'Deactivate' : 'Activate'}
            </Button>
            <Button variant="outlined" startIcon={<EditIcon />} onClick={() => setRenaming(true)}>
              Rename
            </Button>
            <Button variant="outlined" startIcon={<SmartIcon />} onClick={() => setPrelabel(true)} disabled={!m.is_active}>
              Pre-label a project
            </Button>
            <Button variant="outlined" startIcon={<DownloadIcon />} onClick={download} title="The weights as safetensors, with Ultralytics' parameter names">
              Download
            </Button>
            <Button color="error" variant="outlined" startIcon={<DeleteIcon />} onClick={() => setDeleting(true)}>
              Delete
            </Button>
          </>
        }
      />
      {m.description && (
        <Typography color="text.secondary" sx={{ mb: 2, mt: -1 }}>
          {m.description}
        </Typography>
      )}
      <Tabs value={tab} onChange={(_, v) => setParams(v === 'overview' ? {} : { tab: v }, { replace: true })} sx={{ mb: 2, borderBottom: 1, borderColor: 'divider' }}>
        <Tab value="overview" label="Overview" />
        <Tab value="curves" label="Training curves" />
        <Tab value="try" label="Try it" />
      </Tabs>
      {tab === 'overview' && (
        <Grid container spacing={2}>
          <Grid size={{ xs: 12, md: 6 }}>
            <Card sx={{ height: '100%' }}>
              <CardHeader title="Validation metrics" subheader="From the best checkpoint" />
              <CardContent sx={{ pt: 0 }}>
                {metrics.length === 0 ? (
                  <Typography color="text.secondary">No metrics recorded.</Typography>
                ) : (
                  <Table size="small">
                    <TableBody>
                      {metrics.map(([k, v]) => (
                        <TableRow key={k}>
                          <TableCell>{metricLabel(k)}</TableCell>
                          <TableCell align="right" sx={{ fontWeight: 600, fontVariantNumeric: 'tabular-nums' }}>
                            {formatMetric(v)}
                          </TableCell>
                        </TableRow>
                      ))}
                    </TableBody>
                  </Table>
                )}
              </CardContent>
            </Card>
          </Grid>
          <Grid size={{ xs: 12, md: 6 }}>
            <Card sx={{ height: '100%' }}>
              <CardHeader title="Classes and lineage" />
              <CardContent sx={{ pt: 0 }}>
                <ClassChips classes={m.classes} max={40} />
                <Table size="small" sx={{ mt: 2 }}>
                  <TableBody>
                    <TableRow>
                      <TableCell sx={{ color: 'text.secondary' }}>Trained by job</TableCell>
                      <TableCell>
                        {m.training_job_id != null ? (
                          <Link component={RouterLink} to={`/jobs/${m.training_job_id}`}>
                            #{m.training_job_id}
                          </Link>
                        ) : (
                          'imported'
                        )}
                      </TableCell>
                    </TableRow>
                    <TableRow>
                      <TableCell sx={{ color: 'text.secondary' }}>Architecture</TableCell>
                      <TableCell>{m.model_type}</TableCell>
                    </TableRow>
                    <TableRow>
                      <TableCell sx={{ color: 'text.secondary' }}>Input size</TableCell>
                      <TableCell>{m.image_size}×{m.image_size} px</TableCell>
                    </TableRow>
                  </TableBody>
                </Table>
              </CardContent>
            </Card>
          </Grid>
          {(m.config || m.base_weights || m.dataset || m.plugins?.length) && (
            <Grid size={12}>
              <SetupCard model={m} />
            </Grid>
          )}
          {m.training_job_id != null && (
            <Grid size={12}>
              <Card>
                <CardContent>
                  <TrainingCurves jobId={m.training_job_id} task={m.task_type} />
                </CardContent>
              </Card>
            </Grid>
          )}
        </Grid>
      )}
      {tab === 'curves' &&
        (m.training_job_id != null ? (
          <Card>
            <CardContent>
              <TrainingCurves jobId={m.training_job_id} task={m.task_type} height={340} />
            </CardContent>
          </Card>
        ) : (
          <Typography color="text.secondary">This model was not trained here, so there are no curves.</Typography>
        ))}
      {tab === 'try' && <TryModelPanel model={m} />}
      <RenameDialog key={m.name} model={m} open={renaming} onClose={() => setRenaming(false)} />
      <PrelabelDialog open={prelabel} onClose={() => setPrelabel(false)} modelId={m.id} />
      <ConfirmDialog
        open={deleting}
        title={`Delete “${m.name}”?`}
        body="The model and its weights are deleted. Annotations it made stay. This cannot be undone."
        busy={remove.isPending}
        onClose={() => setDeleting(false)}
        onConfirm={() =>
          remove.mutate(m.id, {
            onSuccess: () => {
              notify(`Deleted ${m.name}`);
              navigate('/models');
            },
            onError: (e) => notify(errorMessage(e), 'error'),
          })
        }
      />
    </>
  );
}
