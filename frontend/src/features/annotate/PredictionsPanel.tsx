// Model-assisted labelling on one image: run a model, see its predictions over the image with
// their confidence, and accept or reject each one, or all above a threshold. Accepted
// predictions are saved as annotations with `source: custom_model` and their confidence.

import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Box,
  Button,
  IconButton,
  List,
  ListItem,
  MenuItem,
  Slider,
  Stack,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import CheckIcon from '@mui/icons-material/Check';
import CloseIcon from '@mui/icons-material/Close';
import { useHasRoute } from '@/api/capabilities';
import { errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { useModels } from '@/api/queries';
import type { PredictedAnnotation, PredictResponse } from '@/api/types';
import { plural } from '@/components/format';
import { colorForLabel } from '@/theme';

/** The lowest confidence asked for and offered on the slider. */
const FLOOR = 0.01;

export interface PendingPrediction {
  key: number;
  prediction: PredictedAnnotation;
}

export function PredictionsPanel({
  imageId,
  classes,
  onOverlay,
  onAccept,
  onSetImageClass,
}: {
  imageId: number;
  classes: string[];
  onOverlay: (preds: PendingPrediction[]) => void;
  onAccept: (p: PredictedAnnotation) => Promise<boolean>;
  onSetImageClass: (label: string) => void;
}) {
  const canPredict = useHasRoute('/api/v1/models/{id}/predict');
  const models = useModels(true, canPredict === true);
  const [modelId, setModelId] = useState<number | ''>('');
  const [threshold, setThreshold] = useState(0.5);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<PredictResponse | null>(null);
  const [pending, setPending] = useState<PendingPrediction[]>([]);

  // A new image starts without predictions.
  useEffect(() => {
    setResult(null);
    setPending([]);
    setError(null);
  }, [imageId]);

  const visible = useMemo(() => pending.filter((p) => p.prediction.confidence >= threshold), [pending, threshold]);
  useEffect(() => onOverlay(visible), [visible, onOverlay]);

  useEffect(() => {
    if (modelId === '' && models.data?.length) setModelId(models.data[0].id);
  }, [models.data, modelId]);

  const run = async () => {
    if (modelId === '') return;
    setBusy(true);
    setError(null);
    try {
      // Ask for everything above a low floor; the slider filters what is shown (a young model
      // is often right with little confidence).
      const r = await ep.models.predictImage(modelId, imageId, { confidence: FLOOR });
      setResult(r);
      setPending((r.annotations ?? []).map((prediction, key) => ({ key, prediction })));
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const accept = async (p: PendingPrediction) => {
    if (await onAccept(p.prediction)) setPending((l) => l.filter((x) => x.key !== p.key));
  };
  const reject = (p: PendingPrediction) => setPending((l) => l.filter((x) => x.key !== p.key));
  const acceptAll = async () => {
    for (const p of visible) await accept(p);
  };

  const list = models.data ?? [];
  return (
    <Box>
      <Typography variant="overline" color="text.secondary">
        Predictions
      </Typography>
      {canPredict === false ? (
        <Typography variant="body2" color="text.secondary">
          This server does not offer model predictions yet.
        </Typography>
      ) : models.isError ? (
        <Typography variant="body2" color="text.secondary">
          Models could not be loaded: {errorMessage(models.error)}
        </Typography>
      ) : models.isSuccess && list.length === 0 ? (
        <Typography variant="body2" color="text.secondary">
          No active model yet. Train one to get suggestions here.
        </Typography>
      ) : (
        <Stack spacing={1}>
          <Stack direction="row" spacing={1}>
            <TextField select size="small" label="Model" value={modelId} onChange={(e) => setModelId(Number(e.target.value))} sx={{ flex: 1, minWidth: 0 }}>
              {list.map((m) => (
                <MenuItem key={m.id} value={m.id}>
                  {m.name}
                </MenuItem>
              ))}
            </TextField>
            <Button variant="outlined" onClick={run} disabled={busy || modelId === ''}>
              {busy ? '…' : 'Predict'}
            </Button>
          </Stack>
          {error && <Alert severity="error">{error}</Alert>}
          {result && (
            <>
              <Typography variant="caption" color="text.secondary">
                {result.model_name} · {result.inference_time_ms.toFixed(0)} ms
              </Typography>
              {result.predictions && (
                <List dense disablePadding>
                  {result.predictions.slice(0, 5).map((p) => (
                    <ListItem key={p.class_id} disableGutters secondaryAction={<Button size="small" onClick={() => onSetImageClass(p.class_label)}>Use</Button>}>
                      <Typography variant="body2" sx={{ flex: 1 }}>
                        {p.class_label}
                      </Typography>
                      <Typography variant="body2" color="text.secondary" sx={{ mr: 6 }}>
                        {(p.confidence * 100).toFixed(1)}%
                      </Typography>
                    </ListItem>
                  ))}
                </List>
              )}
              {result.annotations && (
                <>
                  <Typography variant="body2" gutterBottom>
                    Show above <b>{(threshold * 100).toFixed(0)}%</b> confidence
                  </Typography>
                  <Slider size="small" value={threshold} min={FLOOR} max={0.95} step={0.01} onChange={(_, v) => setThreshold(v as number)} aria-label="Confidence threshold" />
                  {visible.length === 0 ? (
                    <Typography variant="body2" color="text.secondary">
                      {result.annotations.length === 0
                        ? `The model found nothing in this image (at ${FLOOR * 100}% confidence or more).`
                        : pending.length
                          ? `${plural(pending.length, 'prediction')} below this threshold: lower it to see them.`
                          : 'Nothing left to review.'}
                    </Typography>
                  ) : (
                    <>
                      <Button size="small" variant="contained" onClick={acceptAll} startIcon={<CheckIcon />}>
                        Accept all {visible.length}
                      </Button>
                      <List dense disablePadding sx={{ maxHeight: 200, overflow: 'auto' }} data-testid="prediction-list">
                        {visible.map((p) => (
                          <ListItem key={p.key} disableGutters sx={{ py: 0 }}>
                            <Box sx={{ width: 10, height: 10, borderRadius: 0.5, bgcolor: colorForLabel(p.prediction.class_label, classes), mr: 1 }} />
                            <Typography variant="body2" sx={{ flex: 1 }} noWrap>
                              {p.prediction.class_label}
                            </Typography>
                            <Typography variant="caption" color="text.secondary" sx={{ mx: 1 }}>
                              {(p.prediction.confidence * 100).toFixed(0)}%
                            </Typography>
                            <Tooltip title="Accept">
                              <IconButton size="small" color="success" onClick={() => accept(p)} aria-label={`Accept ${p.prediction.class_label}`}>
                                <CheckIcon fontSize="small" />
                              </IconButton>
                            </Tooltip>
                            <Tooltip title="Reject">
                              <IconButton size="small" onClick={() => reject(p)} aria-label={`Reject ${p.prediction.class_label}`}>
                                <CloseIcon fontSize="small" />
                              </IconButton>
                            </Tooltip>
                          </ListItem>
                        ))}
                      </List>
                    </>
                  )}
                </>
              )}
            </>
          )}
        </Stack>
      )}
    </Box>
  );
}
