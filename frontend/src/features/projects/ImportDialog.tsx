// Import a dataset into the project: a zip in COCO, YOLO or ImageFolder layout, detected by
// the server or named here; shows what was created and what was skipped and why.

import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControl,
  FormControlLabel,
  FormLabel,
  LinearProgress,
  List,
  ListItem,
  ListItemText,
  Radio,
  RadioGroup,
  Typography,
} from '@mui/material';
import { errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { keys } from '@/api/queries';
import type { ImportFormat, ImportResult } from '@/api/types';
import { formatBytes } from '@/components/format';

const formats: { value: ImportFormat | 'auto'; label: string; hint: string }[] = [
  { value: 'auto', label: 'Detect automatically', hint: 'The server looks at the archive and picks the format.' },
  { value: 'coco', label: 'COCO', hint: 'An annotations JSON (instances) plus the images.' },
  { value: 'yolo', label: 'YOLO', hint: 'images/ and labels/ folders with data.yaml, as Ultralytics writes them.' },
  { value: 'imagefolder', label: 'ImageFolder', hint: 'One folder per class (classification): train/cat/…, train/dog/…' },
];

export function ImportDialog({ projectId, open, onClose }: { projectId: number; open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<ImportFormat | 'auto'>('auto');
  const [progress, setProgress] = useState<number | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reset = () => {
    setFile(null);
    setProgress(null);
    setResult(null);
    setError(null);
  };

  const run = async () => {
    if (!file) return;
    setError(null);
    setProgress(0);
    try {
      const r = await ep.projects.import(projectId, file, format, (p) => setProgress(p.total ? (p.loaded / p.total) * 100 : 0));
      setResult(r);
      qc.invalidateQueries({ queryKey: ['projects'] });
      qc.invalidateQueries({ queryKey: keys.imagesOf(projectId) });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setProgress(null);
    }
  };

  const skipped = result?.skipped ?? [];
  return (
    <Dialog open={open} onClose={progress !== null ? undefined : onClose} maxWidth="sm" fullWidth slotProps={{ transition: { onExited: reset } }}>
      <DialogTitle>Import a dataset</DialogTitle>
      <DialogContent>
        {result ? (
          <>
            <Alert severity={skipped.length ? 'warning' : 'success'} sx={{ mb: 2 }}>
              Imported {result.images_imported} images and {result.annotations_imported} annotations ({formats.find((f) => f.value === result.format)?.label ?? result.format})
              {skipped.length ? `; skipped ${result.images_skipped} images and ${result.annotations_skipped} annotations.` : '.'}
            </Alert>
            {skipped.length > 0 && (
              <List dense sx={{ maxHeight: 240, overflow: 'auto' }}>
                {skipped.map((s, i) => (
                  <ListItem key={i} disableGutters>
                    <ListItemText primary={`${s.kind}: ${s.item}`} secondary={s.reason} slotProps={{ secondary: { color: 'error' } }} />
                  </ListItem>
                ))}
              </List>
            )}
          </>
        ) : (
          <>
            {error && (
              <Alert severity="error" sx={{ mb: 2 }}>
                {error}
              </Alert>
            )}
            <Button variant="outlined" component="label" fullWidth sx={{ py: 2, borderStyle: 'dashed' }}>
              {file ? `${file.name} (${formatBytes(file.size)})` : 'Choose a .zip archive'}
              <input hidden type="file" accept=".zip,application/zip" data-testid="import-input" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            </Button>
            <FormControl sx={{ mt: 2 }}>
              <FormLabel>Format</FormLabel>
              <RadioGroup value={format} onChange={(e) => setFormat(e.target.value as ImportFormat | 'auto')}>
                {formats.map((f) => (
                  <FormControlLabel
                    key={f.value}
                    value={f.value}
                    control={<Radio size="small" />}
                    label={
                      <Box>
                        <Typography variant="body2" sx={{ fontWeight: 600 }}>
                          {f.label}
                        </Typography>
                        <Typography variant="caption" color="text.secondary">
                          {f.hint}
                        </Typography>
                      </Box>
                    }
                    sx={{ alignItems: 'flex-start', my: 0.5, '& .MuiRadio-root': { pt: 0.3 } }}
                  />
                ))}
              </RadioGroup>
            </FormControl>
            {progress !== null && (
              <Box sx={{ mt: 2 }}>
                <Typography variant="body2">{progress < 100 ? `Uploading… ${Math.round(progress)}%` : 'Importing on the server…'}</Typography>
                <LinearProgress variant={progress < 100 ? 'determinate' : 'indeterminate'} value={progress} sx={{ mt: 0.5 }} />
              </Box>
            )}
          </>
        )}
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2 }}>
        <Button onClick={onClose} disabled={progress !== null}>
          {result ? 'Done' : 'Cancel'}
        </Button>
        {!result && (
          <Button variant="contained" onClick={run} disabled={!file || progress !== null}>
            Import
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
