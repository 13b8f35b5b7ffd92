// Upload many images at once: drop them (or pick them), watch one progress bar for the whole
// upload, and see per file what was stored and what was refused and why.

import { useCallback, useRef, useState, type DragEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  LinearProgress,
  List,
  ListItem,
  ListItemIcon,
  ListItemText,
  Stack,
  Typography,
} from '@mui/material';
import CloudUploadIcon from '@mui/icons-material/CloudUploadOutlined';
import CheckIcon from '@mui/icons-material/CheckCircle';
import ErrorIcon from '@mui/icons-material/ErrorOutline';
import HourglassIcon from '@mui/icons-material/HourglassEmpty';
import { errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { keys } from '@/api/queries';
import { formatBytes, plural } from '@/components/format';
import { batchIndices, batchOutcome, planFiles, rejectedFile, summarize, type UploadItem } from './upload';

export function UploadDialog({ projectId, open, onClose }: { projectId: number; open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [items, setItems] = useState<UploadItem[]>([]);
  const [running, setRunning] = useState(false);
  const [sent, setSent] = useState({ loaded: 0, total: 0 });
  const [dragOver, setDragOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const abort = useRef<AbortController | null>(null);

  const addFiles = useCallback((files: File[]) => {
    if (!files.length) return;
    setItems((prev) => [...prev.filter((p) => p.state.kind !== 'done'), ...planFiles(files)]);
  }, []);

  const start = async () => {
    const plan = items;
    const batches = batchIndices(plan);
    const totalBytes = batches.flat().reduce((n, i) => n + plan[i].file.size, 0);
    let doneBytes = 0;
    setRunning(true);
    setSent({ loaded: 0, total: totalBytes });
    abort.current = new AbortController();
    const next = [...plan];
    for (const batch of batches) {
      if (abort.current.signal.aborted) break;
      batch.forEach((i) => (next[i] = { ...next[i], state: { kind: 'uploading' } }));
      setItems([...next]);
      const batchBytes = batch.reduce((n, i) => n + next[i].file.size, 0);
      // One undecodable file makes the host refuse the whole request: mark it and send the
      // rest of the batch again.
      let pending = [...batch];
      while (pending.length) {
        const files = pending.map((i) => next[i].file);
        try {
          const res = await ep.images.upload(projectId, files, (p) => setSent({ loaded: doneBytes + Math.min(p.loaded, batchBytes), total: totalBytes }), abort.current.signal);
          batchOutcome(files, res).forEach((state, k) => (next[pending[k]] = { ...next[pending[k]], state }));
          pending = [];
        } catch (e) {
          const bad = rejectedFile(e, files);
          if (bad) {
            next[pending[bad.index]] = { ...next[pending[bad.index]], state: { kind: 'error', reason: bad.reason } };
            pending = pending.filter((_, k) => k !== bad.index);
            setItems([...next]);
            continue;
          }
          const reason = e instanceof DOMException && e.name === 'AbortError' ? 'Cancelled.' : errorMessage(e);
          pending.forEach((i) => (next[i] = { ...next[i], state: { kind: 'error', reason } }));
          pending = [];
        }
      }
      doneBytes += batchBytes;
      setSent({ loaded: doneBytes, total: totalBytes });
      setItems([...next]);
    }
    setRunning(false);
    qc.invalidateQueries({ queryKey: keys.imagesOf(projectId) });
    qc.invalidateQueries({ queryKey: keys.project(projectId) });
    qc.invalidateQueries({ queryKey: keys.projects });
  };

  const close = () => {
    if (running) abort.current?.abort();
    onClose();
  };
  // Cleared once the dialog has faded out, so the list does not blank while it closes.
  const reset = () => {
    setItems([]);
    setSent({ loaded: 0, total: 0 });
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragOver(false);
    addFiles(Array.from(e.dataTransfer.files));
  };

  const s = summarize(items);
  const queued = items.filter((i) => i.state.kind === 'queued').length;
  const finished = !running && items.length > 0 && queued === 0;
  const pct = sent.total ? (sent.loaded / sent.total) * 100 : 0;

  return (
    <Dialog open={open} onClose={running ? undefined : close} maxWidth="sm" fullWidth slotProps={{ transition: { onExited: reset } }}>
      <DialogTitle>Upload images</DialogTitle>
      <DialogContent>
        <Box
          onDragOver={(e) => {
            e.preventDefault();
            setDragOver(true);
          }}
          onDragLeave={() => setDragOver(false)}
          onDrop={onDrop}
          onClick={() => !running && input.current?.click()}
          role="button"
          tabIndex={0}
          aria-label="Drop images here or click to choose files"
          onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && input.current?.click()}
          sx={{
            border: '2px dashed',
            borderColor: dragOver ? 'primary.main' : 'divider',
            bgcolor: dragOver ? 'rgba(63,81,181,0.06)' : 'background.default',
            borderRadius: 3,
            p: 4,
            textAlign: 'center',
            cursor: running ? 'default' : 'pointer',
            transition: 'all 120ms',
          }}
        >
          <CloudUploadIcon color="primary" sx={{ fontSize: 44 }} />
          <Typography sx={{ fontWeight: 600, mt: 1 }}>Drop images here, or click to choose</Typography>
          <Typography variant="body2" color="text.secondary">
            JPEG, PNG, BMP, WebP or TIFF · as many as you like
          </Typography>
          <input
            ref={input}
            type="file"
            accept="image/*,.tif,.tiff"
            multiple
            hidden
            data-testid="upload-input"
            onChange={(e) => {
              addFiles(Array.from(e.target.files ?? []));
              e.target.value = '';
            }}
          />
        </Box>

        {items.length > 0 && (
          <Box sx={{ mt: 2 }}>
            <Stack direction="row" sx={{ justifyContent: 'space-between', mb: 0.5 }}>
              <Typography variant="body2" sx={{ fontWeight: 600 }}>
                {running ? `Uploading… ${Math.round(pct)}%` : finished ? 'Upload finished' : `${plural(items.length, 'file')} selected`}
              </Typography>
              <Typography variant="body2" color="text.secondary">
                {s.done} stored · {s.failed} failed{queued ? ` · ${queued} waiting` : ''}
              </Typography>
            </Stack>
            <LinearProgress variant="determinate" value={finished ? 100 : pct} color={s.failed && finished ? 'warning' : 'primary'} aria-label="Upload progress" />
            {finished && s.failed > 0 && (
              <Alert severity="warning" sx={{ mt: 1.5 }}>
                {plural(s.failed, 'file was', 'files were')} not stored. The reasons are listed below.
              </Alert>
            )}
            <List dense sx={{ maxHeight: 260, overflow: 'auto', mt: 1 }} data-testid="upload-files">
              {items.map((it, i) => (
                <ListItem key={i} disableGutters>
                  <ListItemIcon sx={{ minWidth: 32 }}>
                    {it.state.kind === 'done' ? (
                      <CheckIcon color="success" fontSize="small" />
                    ) : it.state.kind === 'error' ? (
                      <ErrorIcon color="error" fontSize="small" />
                    ) : (
                      <HourglassIcon color={it.state.kind === 'uploading' ? 'primary' : 'disabled'} fontSize="small" />
                    )}
                  </ListItemIcon>
                  <ListItemText
                    primary={it.file.name}
                    secondary={it.state.kind === 'error' ? it.state.reason : formatBytes(it.file.size)}
                    slotProps={{ secondary: { color: it.state.kind === 'error' ? 'error' : 'text.secondary' }, primary: { noWrap: true } }}
                  />
                </ListItem>
              ))}
            </List>
          </Box>
        )}
      </DialogContent>
      <DialogActions sx={{ px: 3, pb: 2 }}>
        <Button onClick={close}>{running ? 'Cancel upload' : finished ? 'Done' : 'Cancel'}</Button>
        {!finished && (
          <Button variant="contained" onClick={start} disabled={running || queued === 0}>
            {queued ? `Upload ${plural(queued, 'image')}` : 'Upload'}
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
