// Try a model on one image, uploaded or from a project, and see what it predicts drawn over it.

import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Grid,
  LinearProgress,
  List,
  ListItem,
  ListItemText,
  MenuItem,
  Pagination,
  Slider,
  Stack,
  TextField,
  ToggleButton,
  ToggleButtonGroup,
  Typography,
} from '@mui/material';
import UploadIcon from '@mui/icons-material/CloudUploadOutlined';
import { errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { plural } from '@/components/format';
import { useImages, useProjects } from '@/api/queries';
import type { PredictResponse, TrainedModel } from '@/api/types';
import { colorForLabel } from '@/theme';
import { AnnotationCanvas, type CanvasShape } from '@/features/annotate/AnnotationCanvas';
import { useImageUrl } from '@/features/projects/useImageUrl';

type Source = { kind: 'file'; file: File; url: string; w: number; h: number } | { kind: 'image'; id: number; w: number; h: number; name: string };

function ProjectImagePicker({ onPick }: { onPick: (s: Source) => void }) {
  const projects = useProjects();
  const [projectId, setProjectId] = useState<number | ''>('');
  const [page, setPage] = useState(1);
  const images = useImages(typeof projectId === 'number' ? projectId : 0, page, 12, typeof projectId === 'number');
  return (
    <Stack spacing={1.5}>
      <TextField select size="small" label="Project" value={projectId} onChange={(e) => { setProjectId(Number(e.target.value)); setPage(1); }}>
        {(projects.data ?? []).map((p) => (
          <MenuItem key={p.id} value={p.id}>
            {p.name}
          </MenuItem>
        ))}
      </TextField>
      {typeof projectId === 'number' && images.data && (
        <>
          <Grid container spacing={1}>
            {images.data.items.map((img) => (
              <Grid key={img.id} size={3}>
                <Thumb id={img.id} name={img.filename} onClick={() => onPick({ kind: 'image', id: img.id, w: img.width, h: img.height, name: img.filename })} />
              </Grid>
            ))}
          </Grid>
          {images.data.total > 12 && <Pagination size="small" count={Math.ceil(images.data.total / 12)} page={page} onChange={(_, p) => setPage(p)} />}
        </>
      )}
    </Stack>
  );
}

function Thumb({ id, name, onClick }: { id: number; name: string; onClick: () => void }) {
  const { url } = useImageUrl(id);
  return (
    <Box component="button" onClick={onClick} title={name} sx={{ p: 0, border: 1, borderColor: 'divider', borderRadius: 1, overflow: 'hidden', cursor: 'pointer', width: '100%', aspectRatio: '1', bgcolor: '#eef0f6' }}>
      {url && <Box component="img" src={url} alt={name} sx={{ width: '100%', height: '100%', objectFit: 'cover', display: 'block' }} />}
    </Box>
  );
}

export function TryModelPanel({ model }: { model: TrainedModel }) {
  const [mode, setMode] = useState<'upload' | 'project'>('upload');
  const [source, setSource] = useState<Source | null>(null);
  const [confidence, setConfidence] = useState(0.25);
  const [result, setResult] = useState<PredictResponse | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const projectUrl = useImageUrl(source?.kind === 'image' ? source.id : null).url;
  const imageUrl = source?.kind === 'file' ? source.url : projectUrl;

  useEffect(() => () => { if (source?.kind === 'file') URL.revokeObjectURL(source.url); }, [source]);

  const pickFile = (file: File | undefined) => {
    if (!file) return;
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => setSource({ kind: 'file', file, url, w: img.naturalWidth, h: img.naturalHeight });
    img.onerror = () => setError('That file is not an image the browser can read.');
    img.src = url;
    setResult(null);
  };

  const run = async () => {
    if (!source) return;
    setBusy(true);
    setError(null);
    try {
      const r = source.kind === 'file' ? await ep.models.predictFile(model.id, source.file, { confidence }) : await ep.models.predictImage(model.id, source.id, { confidence });
      setResult(r);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const overlay: CanvasShape[] = useMemo(
    () =>
      (result?.annotations ?? []).map((a, i) => ({
        key: i,
        type: a.type,
        data: a.data,
        label: a.class_label,
        color: colorForLabel(a.class_label, model.classes),
        prediction: true,
        confidence: a.confidence,
      })),
    [result, model.classes],
  );

  return (
    <Grid container spacing={2}>
      <Grid size={{ xs: 12, md: 4 }}>
        <Card>
          <CardContent>
            <Stack spacing={2}>
              <ToggleButtonGroup size="small" exclusive value={mode} onChange={(_, v) => v && setMode(v)} fullWidth>
                <ToggleButton value="upload">Upload an image</ToggleButton>
                <ToggleButton value="project">From a project</ToggleButton>
              </ToggleButtonGroup>
              {mode === 'upload' ? (
                <Button variant="outlined" component="label" startIcon={<UploadIcon />} sx={{ py: 2, borderStyle: 'dashed' }}>
                  {source?.kind === 'file' ? source.file.name : 'Choose an image'}
                  <input hidden type="file" accept="image/*" data-testid="try-input" onChange={(e) => pickFile(e.target.files?.[0])} />
                </Button>
              ) : (
                <ProjectImagePicker onPick={(s) => { setSource(s); setResult(null); }} />
              )}
              {model.task_type !== 'classify' && (
                <Box>
                  <Typography variant="body2">
                    Minimum confidence <b>{confidence.toFixed(2)}</b>
                  </Typography>
                  <Slider size="small" min={0.01} max={0.95} step={0.01} value={confidence} onChange={(_, v) => setConfidence(v as number)} aria-label="Minimum confidence" />
                </Box>
              )}
              <Button variant="contained" onClick={run} disabled={!source || busy || !model.is_active}>
                {busy ? 'Predicting…' : 'Predict'}
              </Button>
              {!model.is_active && <Alert severity="info">Activate the model to use it for predictions.</Alert>}
              {busy && <LinearProgress />}
              {error && <Alert severity="error">{error}</Alert>}
              {result && (
                <>
                  <Typography variant="body2" color="text.secondary">
                    {result.inference_time_ms.toFixed(0)} ms ·{' '}
                    {result.annotations
                      ? result.annotations.length
                        ? plural(result.annotations.length, 'object')
                        : 'nothing found at this confidence; try a lower minimum'
                      : result.top1_class
                        ? `top-1: ${result.top1_class}`
                        : ''}
                  </Typography>
                  <List dense disablePadding data-testid="try-results">
                    {(result.predictions ?? []).slice(0, 5).map((p) => (
                      <ListItem key={p.class_id} disableGutters>
                        <ListItemText primary={p.class_label} secondary={<LinearProgress variant="determinate" value={p.confidence * 100} sx={{ height: 6, mt: 0.5 }} />} />
                        <Typography variant="body2" sx={{ ml: 1 }}>
                          {(p.confidence * 100).toFixed(1)}%
                        </Typography>
                      </ListItem>
                    ))}
                    {(result.annotations ?? []).slice(0, 50).map((a, i) => (
                      <ListItem key={i} disableGutters>
                        <Box sx={{ width: 10, height: 10, borderRadius: 0.5, bgcolor: colorForLabel(a.class_label, model.classes), mr: 1 }} />
                        <ListItemText primary={a.class_label} />
                        <Typography variant="body2">{(a.confidence * 100).toFixed(0)}%</Typography>
                      </ListItem>
                    ))}
                  </List>
                </>
              )}
            </Stack>
          </CardContent>
        </Card>
      </Grid>
      <Grid size={{ xs: 12, md: 8 }}>
        <Card sx={{ height: 520, display: 'flex' }}>
          {source ? (
            <Box sx={{ flex: 1, display: 'flex' }}>
              <AnnotationCanvas
                imageUrl={imageUrl}
                imageWidth={source.w}
                imageHeight={source.h}
                shapes={[]}
                overlay={overlay}
                selected={null}
                tool="select"
                drawColor="#fff"
                readOnly
                onSelect={() => {}}
                onCreate={() => {}}
                onChange={() => {}}
              />
            </Box>
          ) : (
            <Box sx={{ flex: 1, display: 'flex', alignItems: 'center', justifyContent: 'center', color: 'text.secondary' }}>
              <Typography>Choose an image to see what the model finds.</Typography>
            </Box>
          )}
        </Card>
      </Grid>
    </Grid>
  );
}
