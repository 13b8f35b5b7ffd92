// Plugins (admins): the installed converters, splitters and metric formatters by kind, with
// version and content hash; upload a new `.wasm` (and see exactly why one was rejected); set
// the default of each kind, which the next job uses; disable one so new jobs cannot pick it.

import { useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  AlertTitle,
  Box,
  Button,
  Card,
  CardContent,
  CardHeader,
  Chip,
  IconButton,
  LinearProgress,
  List,
  ListItem,
  Radio,
  Stack,
  Switch,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
} from '@mui/material';
import UploadIcon from '@mui/icons-material/CloudUploadOutlined';
import DeleteIcon from '@mui/icons-material/DeleteOutline';
import ExtensionIcon from '@mui/icons-material/ExtensionOutlined';
import CopyIcon from '@mui/icons-material/ContentCopy';
import { useHasRoute } from '@/api/capabilities';
import { ApiError, errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { keys, useDeletePlugin, useEnablePlugin, usePlugins, useSetDefaultPlugin } from '@/api/queries';
import { PLUGIN_KINDS, pluginHash, type Plugin, type PluginKind } from '@/api/types';
import { ConfirmDialog } from '@/components/ConfirmDialog';
import { EmptyState } from '@/components/EmptyState';
import { ErrorState } from '@/components/ErrorState';
import { formatBytes, formatDate, formatRelative } from '@/components/format';
import { taskLabels } from '@/components/TaskChip';
import { SkeletonRows } from '@/components/LoadingState';
import { useNotify } from '@/components/notify';
import { PageHeader } from '@/components/PageHeader';

const KIND_INFO: Record<string, { title: string; blurb: string }> = {
  converter: { title: 'Converters', blurb: 'Turn annotations into training labels for a task (boxes, polygons, image classes).' },
  splitter: { title: 'Split strategies', blurb: 'Assign images to training and validation sets.' },
  formatter: { title: 'Metric formatters', blurb: 'Name and group the engine’s metrics and choose the fitness that picks the best checkpoint.' },
};

/** Lines of a rejection's details worth showing (validation messages, missing exports, …). */
export function rejectionDetails(details: unknown): string[] {
  if (details == null) return [];
  if (typeof details === 'string') return [details];
  if (Array.isArray(details)) return details.flatMap(rejectionDetails);
  if (typeof details === 'object') {
    const d = details as Record<string, unknown>;
    if (typeof d.message === 'string') return [typeof d.field === 'string' ? `${d.field}: ${d.message}` : d.message];
    return Object.entries(d).flatMap(([k, v]) => (typeof v === 'string' ? [`${k}: ${v}`] : rejectionDetails(v)));
  }
  return [String(details)];
}

/** The detail lines that add something to the message: not the field name of the upload,
 * not a reason the message already states. */
export function extraDetails(message: string, lines: string[]): string[] {
  return lines.filter((l) => !/^field: /.test(l) && !message.includes(l.replace(/^[a-z_]+: /, '')));
}

function KindTable({ kind, plugins }: { kind: string; plugins: Plugin[] }) {
  const setDefault = useSetDefaultPlugin();
  const remove = useDeletePlugin();
  const enable = useEnablePlugin();
  const notify = useNotify();
  const [deleting, setDeleting] = useState<Plugin | null>(null);
  const info = KIND_INFO[kind] ?? { title: kind, blurb: '' };
  return (
    <Card>
      <CardHeader title={info.title} subheader={info.blurb} />
      <CardContent sx={{ pt: 0 }}>
        {plugins.length === 0 ? (
          <Typography color="text.secondary">None installed.</Typography>
        ) : (
          <Table size="small" data-testid={`plugins-${kind}`}>
            <TableHead>
              <TableRow>
                <TableCell padding="checkbox">Default</TableCell>
                <TableCell>Name</TableCell>
                <TableCell>Version</TableCell>
                <TableCell>Tasks</TableCell>
                <TableCell>Hash</TableCell>
                <TableCell>Added</TableCell>
                <TableCell>Enabled</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {plugins.map((p) => (
                <TableRow key={p.id}>
                  <TableCell padding="checkbox">
                    <Radio
                      checked={p.is_default}
                      disabled={setDefault.isPending || p.enabled === false}
                      onChange={() =>
                        setDefault.mutate(
                          { kind: p.kind as PluginKind, id: p.id },
                          { onSuccess: () => notify(`${p.name} is now the default; the next job uses it.`), onError: (e) => notify(errorMessage(e), 'error') },
                        )
                      }
                      slotProps={{ input: { 'aria-label': `Make ${p.name} the default` } }}
                    />
                  </TableCell>
                  <TableCell>
                    <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                      <Typography sx={{ fontWeight: 600 }} variant="body2">
                        {p.name}
                      </Typography>
                      {p.builtin && <Chip size="small" label="built-in" sx={{ height: 20 }} />}
                    </Stack>
                    {p.description && (
                      <Typography variant="caption" color="text.secondary">
                        {p.description}
                      </Typography>
                    )}
                  </TableCell>
                  <TableCell>{p.version}</TableCell>
                  <TableCell>
                    {/* Which tasks it serves, and (bold) those it is the default for. */}
                    <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap' }}>
                      {(p.task_types ?? []).map((t) => {
                        const isDefault = (p.default_for ?? []).includes(t);
                        return (
                          <Tooltip key={t} title={isDefault ? `The default for ${taskLabels[t].toLowerCase()}` : `Supports ${taskLabels[t].toLowerCase()}`}>
                            <Chip size="small" label={taskLabels[t]} color={isDefault ? 'primary' : 'default'} variant={isDefault ? 'filled' : 'outlined'} sx={{ height: 20, fontSize: '0.7rem' }} />
                          </Tooltip>
                        );
                      })}
                    </Stack>
                  </TableCell>
                  <TableCell>
                    <Stack direction="row" sx={{ alignItems: 'center' }}>
                      <Typography variant="body2" sx={{ fontFamily: 'monospace' }} title={pluginHash(p)}>
                        {pluginHash(p).slice(0, 16)}…
                      </Typography>
                      <Tooltip title="Copy the full hash">
                        <IconButton size="small" onClick={() => navigator.clipboard?.writeText(pluginHash(p)).then(() => notify('Hash copied'))} aria-label="Copy hash">
                          <CopyIcon sx={{ fontSize: 14 }} />
                        </IconButton>
                      </Tooltip>
                    </Stack>
                  </TableCell>
                  <TableCell>
                    <span title={formatDate(p.created_at)}>{formatRelative(p.created_at)}</span>
                    {p.size_bytes != null && (
                      <Typography variant="caption" color="text.secondary" sx={{ display: 'block' }}>
                        {formatBytes(p.size_bytes)}
                      </Typography>
                    )}
                  </TableCell>
                  <TableCell>
                    {p.enabled !== undefined && (
                      <Tooltip title={p.is_default && p.enabled ? 'Choose another default first' : p.enabled ? 'New jobs may use it' : 'New jobs cannot use it'}>
                        <span>
                          <Switch
                            size="small"
                            checked={p.enabled}
                            disabled={enable.isPending || (p.is_default && p.enabled)}
                            onChange={(e) =>
                              enable.mutate(
                                { id: p.id, enabled: e.target.checked },
                                { onSuccess: () => notify(`${p.name} ${e.target.checked ? 'enabled' : 'disabled'}`), onError: (err) => notify(errorMessage(err), 'error') },
                              )
                            }
                            slotProps={{ input: { 'aria-label': `${p.name} enabled` } }}
                          />
                        </span>
                      </Tooltip>
                    )}
                  </TableCell>
                  <TableCell align="right">
                    {!p.builtin && (
                      <Tooltip title={p.is_default ? 'Choose another default first' : 'Remove plugin'}>
                        <span>
                          <IconButton size="small" disabled={p.is_default} onClick={() => setDeleting(p)} aria-label={`Remove ${p.name}`}>
                            <DeleteIcon fontSize="small" />
                          </IconButton>
                        </span>
                      </Tooltip>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
      <ConfirmDialog
        open={!!deleting}
        title={`Remove ${deleting?.name}?`}
        body="Jobs that used it keep their record of it; new jobs can no longer choose it."
        confirmLabel="Remove"
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && remove.mutate(deleting.id, { onSuccess: () => setDeleting(null), onError: (e) => notify(errorMessage(e), 'error') })}
      />
    </Card>
  );
}

export function PluginsPage() {
  const hasPlugins = useHasRoute('/api/v1/plugins');
  const plugins = usePlugins(hasPlugins !== false);
  const qc = useQueryClient();
  const notify = useNotify();
  const input = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [rejected, setRejected] = useState<{ file: string; message: string; details: string[] } | null>(null);

  const upload = async (file: File | undefined) => {
    if (!file) return;
    setRejected(null);
    if (!file.name.endsWith('.wasm')) {
      setRejected({ file: file.name, message: 'Plugins are WebAssembly components: choose a .wasm file.', details: [] });
      return;
    }
    setProgress(0);
    try {
      const p = await ep.plugins.upload(file, (e) => setProgress(e.total ? (e.loaded / e.total) * 100 : 0));
      notify(`Installed ${p?.name ?? file.name} ${p?.version ?? ''}`);
      qc.invalidateQueries({ queryKey: keys.plugins });
    } catch (e) {
      const message = errorMessage(e);
      setRejected({ file: file.name, message, details: e instanceof ApiError ? extraDetails(message, rejectionDetails(e.details)) : [] });
    } finally {
      setProgress(null);
    }
  };

  const all = plugins.data ?? [];
  const kinds = [...new Set([...PLUGIN_KINDS, ...all.map((p) => p.kind)])];
  return (
    <>
      <PageHeader
        title="Plugins"
        subtitle="WebAssembly components that convert annotations, split datasets and format metrics. Each upload is validated before it is accepted."
        actions={
          <>
            <Button variant="contained" startIcon={<UploadIcon />} onClick={() => input.current?.click()} disabled={progress !== null || hasPlugins === false}>
              Upload plugin
            </Button>
            <input ref={input} hidden type="file" accept=".wasm,application/wasm" data-testid="plugin-input" onChange={(e) => { upload(e.target.files?.[0]); e.target.value = ''; }} />
          </>
        }
      />
      {progress !== null && <LinearProgress variant={progress < 100 ? 'determinate' : 'indeterminate'} value={progress} sx={{ mb: 2 }} aria-label="Plugin upload" />}
      {rejected && (
        <Alert severity="error" onClose={() => setRejected(null)} sx={{ mb: 2 }} data-testid="plugin-rejected">
          <AlertTitle>“{rejected.file}” was rejected</AlertTitle>
          {rejected.message}
          {rejected.details.length > 0 && (
            <List dense disablePadding sx={{ mt: 1 }}>
              {rejected.details.map((d, i) => (
                <ListItem key={i} disableGutters sx={{ py: 0, fontFamily: 'monospace', fontSize: 13 }}>
                  {d}
                </ListItem>
              ))}
            </List>
          )}
        </Alert>
      )}
      {hasPlugins === false ? (
        <EmptyState icon={<ExtensionIcon />} title="Plugin management is not available on this server yet" description="The built-in converters, splitters and metric formatters are used for training." />
      ) : plugins.isPending ? (
        <SkeletonRows rows={3} height={80} />
      ) : plugins.isError ? (
        <ErrorState error={plugins.error} title="Could not load the plugins" onRetry={() => plugins.refetch()} />
      ) : all.length === 0 ? (
        <EmptyState icon={<ExtensionIcon />} title="No plugins installed" description="The built-in plugins are installed when the server first starts. Upload a .wasm component to add one." />
      ) : (
        <Box sx={{ display: 'grid', gap: 2 }}>
          {kinds.map((k) => (
            <KindTable key={k} kind={k} plugins={all.filter((p) => p.kind === k)} />
          ))}
        </Box>
      )}
    </>
  );
}
