// Pre-label a project with a model: its predictions become annotations (source
// `custom_model`) that people then check, instead of drawing everything by hand. The host
// runs it in the background; the dialog follows the run until it is done. Reopened while a
// run on the project is still going, it follows that run instead of offering a second one
// (two runs on one project would replace each other's model-made annotations).

import { useEffect, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControlLabel,
  LinearProgress,
  MenuItem,
  Slider,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { errorMessage } from '@/api/client';
import { formatRelative, plural } from '@/components/format';
import * as ep from '@/api/endpoints';
import { keys, useModels, useProjects } from '@/api/queries';
import type { PrelabelRun } from '@/api/types';
import { taskLabels } from '@/components/TaskChip';

const finished = (r: PrelabelRun) => r.status === 'completed' || r.status === 'failed' || r.status === 'cancelled';

/** One line about a finished run, for "last time" context. */
export function describeRun(r: PrelabelRun, modelName?: string): string {
  const when = formatRelative(r.completed_at ?? r.created_at);
  const by = modelName ? ` with ${modelName}` : '';
  if (r.status === 'failed') return `Last run ${when}${by} failed: ${r.error_message ?? 'unknown error'}`;
  return `Last run ${when}${by}: ${plural(r.annotations_created, 'annotation')} on ${plural(r.images_labeled, 'image')} (confidence ≥ ${r.confidence.toFixed(2)})`;
}

function RunProgress({ runId, projectId }: { runId: number; projectId: number }) {
  const qc = useQueryClient();
  const run = useQuery({
    queryKey: ['prelabel', runId],
    queryFn: () => ep.projects.prelabelRun(runId),
    refetchInterval: (q) => (q.state.data && finished(q.state.data) ? false : 1000),
  });
  const r = run.data;
  useEffect(() => {
    if (r && finished(r)) {
      qc.invalidateQueries({ queryKey: keys.project(projectId) });
      qc.invalidateQueries({ queryKey: keys.projects, exact: true });
    }
  }, [r, qc, projectId]);
  if (run.isError) return <Alert severity="error">{errorMessage(run.error)}</Alert>;
  if (!r) return <LinearProgress />;
  const pct = r.total_images ? (r.images_processed / r.total_images) * 100 : 0;
  return (
    <Box data-testid="prelabel-run">
      {r.status === 'failed' ? (
        <Alert severity="error">Pre-labelling stopped: {r.error_message ?? 'unknown error'}</Alert>
      ) : r.status === 'completed' ? (
        <Alert severity={r.annotations_created || r.images_labeled ? 'success' : 'info'}>
          {r.annotations_created || r.images_labeled
            ? `Done: ${plural(r.annotations_created, 'annotation')} added to ${r.images_labeled} of ${plural(r.total_images, 'image')}`
            : r.images_processed > r.images_skipped
              ? `Done: the model found nothing at this confidence on the ${plural(r.images_processed - r.images_skipped, 'image')} it looked at`
              : 'Done: there was nothing to pre-label'}
          {r.images_skipped ? ` (${r.images_skipped} skipped because they already had annotations)` : ''}.
        </Alert>
      ) : (
        <>
          <Typography variant="body2" gutterBottom>
            {r.status === 'pending' ? 'Waiting to start…' : `Pre-labelling… ${r.images_processed} of ${r.total_images} images`}
          </Typography>
          <LinearProgress variant={r.status === 'pending' ? 'indeterminate' : 'determinate'} value={pct} />
          <Typography variant="caption" color="text.secondary">
            {r.annotations_created} annotations so far. You can close this dialog; the run continues.
          </Typography>
        </>
      )}
    </Box>
  );
}

export function PrelabelDialog({ open, onClose, projectId, modelId }: { open: boolean; onClose: () => void; projectId?: number; modelId?: number }) {
  const models = useModels(true, open);
  const projects = useProjects();
  const [model, setModel] = useState<number | ''>(modelId ?? '');
  const [project, setProject] = useState<number | ''>(projectId ?? '');
  const [confidence, setConfidence] = useState(0.5);
  const [onlyUnlabeled, setOnlyUnlabeled] = useState(true);
  const [busy, setBusy] = useState(false);
  const [runId, setRunId] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (open) {
      setRunId(null);
      setError(null);
      setModel(modelId ?? '');
      setProject(projectId ?? '');
    }
  }, [open, modelId, projectId]);

  const run = async () => {
    if (model === '' || project === '') return;
    setBusy(true);
    setError(null);
    try {
      const r = await ep.projects.prelabel(project, { model_id: model, confidence, only_unlabeled: onlyUnlabeled });
      setRunId(r.id);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const active = models.data ?? [];
  // With one active model there is nothing to choose.
  const only = modelId === undefined && active.length === 1 ? active[0].id : null;
  useEffect(() => {
    if (open && only !== null) setModel((m) => (m === '' ? only : m));
  }, [open, only]);
  // The project's runs: one still going is followed; the last finished one is shown for context.
  const runs = useQuery({
    queryKey: ['projects', project, 'prelabel'],
    queryFn: () => ep.projects.prelabelRuns(project as number),
    enabled: open && project !== '' && runId === null,
  });
  const inFlight = runs.data?.find((r) => !finished(r));
  const last = runs.data?.find(finished);
  const followed = runId ?? inFlight?.id ?? null;
  const modelName = (id: number | null) => active.find((m) => m.id === id)?.name;
  return (
    <Dialog open={open} onClose={busy ? undefined : onClose} maxWidth="sm" fullWidth>
      <DialogTitle>Pre-label with a model</DialogTitle>
      <DialogContent>
        <DialogContentText sx={{ mb: 2 }}>
          The model's predictions are added as annotations marked as model-made, so you only correct what it got wrong.
        </DialogContentText>
        {followed !== null && project !== '' ? (
          <Stack spacing={1.5}>
            {runId === null && <Alert severity="info">A pre-label run is already going on this project; here is how far it got.</Alert>}
            <RunProgress runId={followed} projectId={project} />
          </Stack>
        ) : (
          <Stack spacing={2.5}>
            {error && <Alert severity="error">{error}</Alert>}
            {models.isError && <Alert severity="warning">Models could not be loaded: {errorMessage(models.error)}</Alert>}
            {projectId === undefined && (
              <TextField select label="Project" value={project} onChange={(e) => setProject(Number(e.target.value))} fullWidth>
                {(projects.data ?? []).map((p) => (
                  <MenuItem key={p.id} value={p.id}>
                    {p.name}
                  </MenuItem>
                ))}
              </TextField>
            )}
            {modelId === undefined && (
              <TextField
                select
                label="Model"
                value={model}
                onChange={(e) => setModel(Number(e.target.value))}
                fullWidth
                helperText={models.data && active.length === 0 ? 'No active models yet: train one first, or activate one on the Models page.' : ' '}
              >
                {active.map((m) => (
                  <MenuItem key={m.id} value={m.id}>
                    {m.name} · {taskLabels[m.task_type]} · {plural(m.num_classes, 'class', 'classes')}
                  </MenuItem>
                ))}
              </TextField>
            )}
            <div>
              <Typography variant="body2" gutterBottom>
                Minimum confidence: <b>{confidence.toFixed(2)}</b>
              </Typography>
              <Slider value={confidence} min={0.01} max={0.95} step={0.01} onChange={(_, v) => setConfidence(v as number)} aria-label="Minimum confidence" />
            </div>
            <FormControlLabel
              control={<Checkbox checked={onlyUnlabeled} onChange={(e) => setOnlyUnlabeled(e.target.checked)} />}
              label="Skip images someone already labelled by hand"
            />
            {last && (
              <Typography variant="caption" color="text.secondary" data-testid="prelabel-last">
                {describeRun(last, modelName(last.model_id))}. Running again replaces the earlier model-made annotations.
              </Typography>
            )}
          </Stack>
        )}
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2 }}>
        <Button onClick={onClose} disabled={busy}>
          {followed !== null ? 'Close' : 'Cancel'}
        </Button>
        {followed === null && (
          <Button variant="contained" onClick={run} disabled={busy || model === '' || project === ''}>
            {busy ? 'Starting…' : 'Start pre-labelling'}
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
