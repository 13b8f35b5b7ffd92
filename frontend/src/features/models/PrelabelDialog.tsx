// Pre-label a project with a model: its predictions become annotations (source
// `custom_model`) that people then check, instead of drawing everything by hand.

import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControlLabel,
  MenuItem,
  Slider,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { useModels, useProjects } from '@/api/queries';
import type { PrelabelResult } from '@/api/types';
import { taskLabels } from '@/components/TaskChip';

export function PrelabelDialog({ open, onClose, projectId, modelId }: { open: boolean; onClose: () => void; projectId?: number; modelId?: number }) {
  const qc = useQueryClient();
  const models = useModels(true);
  const projects = useProjects();
  const [model, setModel] = useState<number | ''>(modelId ?? '');
  const [project, setProject] = useState<number | ''>(projectId ?? '');
  const [confidence, setConfidence] = useState(0.5);
  const [onlyUnlabeled, setOnlyUnlabeled] = useState(true);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<PrelabelResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (open) {
      setResult(null);
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
      setResult(r ?? {});
      qc.invalidateQueries({ queryKey: ['projects', project] });
      qc.invalidateQueries({ queryKey: ['projects'] });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const active = models.data ?? [];
  return (
    <Dialog open={open} onClose={busy ? undefined : onClose} maxWidth="sm" fullWidth>
      <DialogTitle>Pre-label with a model</DialogTitle>
      <DialogContent>
        <DialogContentText sx={{ mb: 2 }}>
          The model's predictions are added as annotations marked as model-made, so you only correct what it got wrong.
        </DialogContentText>
        {result ? (
          <Alert severity="success">
            {result.job_id
              ? 'The pre-label run has started; annotations appear as images are processed.'
              : `Processed ${result.images_processed ?? 0} images and added ${result.annotations_created ?? 0} annotations.`}
          </Alert>
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
                    {m.name} · {taskLabels[m.task_type]} · {m.num_classes} classes
                  </MenuItem>
                ))}
              </TextField>
            )}
            <div>
              <Typography variant="body2" gutterBottom>
                Minimum confidence: <b>{confidence.toFixed(2)}</b>
              </Typography>
              <Slider value={confidence} min={0.05} max={0.95} step={0.05} onChange={(_, v) => setConfidence(v as number)} aria-label="Minimum confidence" />
            </div>
            <FormControlLabel control={<Checkbox checked={onlyUnlabeled} onChange={(e) => setOnlyUnlabeled(e.target.checked)} />} label="Only images without annotations" />
          </Stack>
        )}
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2 }}>
        <Button onClick={onClose} disabled={busy}>
          {result ? 'Close' : 'Cancel'}
        </Button>
        {!result && (
          <Button variant="contained" onClick={run} disabled={busy || model === '' || project === ''}>
            {busy ? 'Pre-labelling…' : 'Start pre-labelling'}
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
