// The model registry: every trained model with its task, classes and key metrics; filter,
// pick two or more to compare, open one to manage and try it.

import { useMemo, useState } from 'react';
import { Link as RouterLink, useNavigate } from 'react-router-dom';
import {
  Box,
  Button,
  Card,
  Checkbox,
  Chip,
  FormControlLabel,
  MenuItem,
  Stack,
  Switch,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import CompareIcon from '@mui/icons-material/CompareArrows';
import ModelIcon from '@mui/icons-material/ViewInArOutlined';
import AddIcon from '@mui/icons-material/Add';
import { useHasRoute } from '@/api/capabilities';
import { useModels } from '@/api/queries';
import { TASK_TYPES, type TaskType } from '@/api/types';
import { EmptyState } from '@/components/EmptyState';
import { ErrorState } from '@/components/ErrorState';
import { formatMetric, formatRelative } from '@/components/format';
import { SkeletonRows } from '@/components/LoadingState';
import { PageHeader } from '@/components/PageHeader';
import { taskLabels, TaskChip } from '@/components/TaskChip';
import { HEADLINE, metricLabel } from '@/features/training/metrics';

export function ClassChips({ classes, max = 3 }: { classes: string[]; max?: number }) {
  return (
    <Stack direction="row" useFlexGap sx={{ flexWrap: 'wrap', gap: 0.5 }}>
      {classes.slice(0, max).map((c) => (
        <Chip key={c} size="small" label={c} variant="outlined" sx={{ height: 22 }} />
      ))}
      {classes.length > max && (
        <Tooltip title={classes.slice(max).join(', ')}>
          <Chip size="small" label={`+${classes.length - max}`} sx={{ height: 22 }} />
        </Tooltip>
      )}
    </Stack>
  );
}

export function ModelsPage() {
  const [activeOnly, setActiveOnly] = useState(false);
  const [task, setTask] = useState<TaskType | ''>('');
  const [search, setSearch] = useState('');
  const [picked, setPicked] = useState<number[]>([]);
  const hasModels = useHasRoute('/api/v1/models');
  const models = useModels(activeOnly, hasModels !== false);
  const navigate = useNavigate();

  const list = useMemo(
    () =>
      (models.data ?? [])
        .filter((m) => !task || m.task_type === task)
        .filter((m) => !search.trim() || m.name.toLowerCase().includes(search.trim().toLowerCase()) || m.classes.some((c) => c.toLowerCase().includes(search.trim().toLowerCase())))
        .sort((a, b) => b.id - a.id),
    [models.data, task, search],
  );
  const toggle = (id: number) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));
  const filtered = !!task || !!search.trim() || activeOnly;

  return (
    <>
      <PageHeader
        title="Models"
        subtitle="Trained models, ready for predictions and pre-labelling."
        actions={
          <>
            <Button variant="outlined" startIcon={<CompareIcon />} disabled={picked.length < 2} onClick={() => navigate(`/models/compare?ids=${picked.join(',')}`)}>
              Compare{picked.length ? ` (${picked.length})` : ''}
            </Button>
            <Button variant="contained" startIcon={<AddIcon />} component={RouterLink} to="/training/new">
              Train a model
            </Button>
          </>
        }
      />
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={1.5} sx={{ mb: 2, alignItems: { md: 'center' } }}>
        <TextField size="small" label="Search name or class" value={search} onChange={(e) => setSearch(e.target.value)} sx={{ width: 260 }} />
        <TextField select size="small" label="Task" value={task} onChange={(e) => setTask(e.target.value as TaskType | '')} sx={{ width: 200 }} slotProps={{ select: { displayEmpty: true }, inputLabel: { shrink: true } }}>
          <MenuItem value="">All tasks</MenuItem>
          {TASK_TYPES.map((t) => (
            <MenuItem key={t} value={t}>
              {taskLabels[t]}
            </MenuItem>
          ))}
        </TextField>
        <FormControlLabel control={<Switch checked={activeOnly} onChange={(e) => setActiveOnly(e.target.checked)} />} label="Active only" />
      </Stack>
      {hasModels === false ? (
        <EmptyState icon={<ModelIcon />} title="Models are not available on this server yet" description="This AnnotateForge server has no model registry endpoints yet." />
      ) : models.isPending ? (
        <SkeletonRows rows={4} />
      ) : models.isError ? (
        <ErrorState error={models.error} title="Could not load the models" onRetry={() => models.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState
          icon={<ModelIcon />}
          title={filtered ? 'No models match these filters' : 'No models yet'}
          description={filtered ? 'Try another task or search.' : 'A model appears here when a training job completes.'}
          action={
            filtered ? undefined : (
              <Button variant="contained" component={RouterLink} to="/training/new">
                Train your first model
              </Button>
            )
          }
        />
      ) : (
        <Card>
          <Box sx={{ overflowX: 'auto' }}>
            <Table size="small" data-testid="models-table">
              <TableHead>
                <TableRow>
                  <TableCell padding="checkbox" />
                  <TableCell>Model</TableCell>
                  <TableCell>Task</TableCell>
                  <TableCell>Classes</TableCell>
                  <TableCell align="right">Key metrics</TableCell>
                  <TableCell align="right">Input</TableCell>
                  <TableCell align="right">Created</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {list.map((m) => {
                  const keysShown = HEADLINE[m.task_type].filter((k) => typeof m.performance_metrics?.[k] === 'number').slice(0, 2);
                  return (
                    <TableRow key={m.id} hover sx={{ cursor: 'pointer', opacity: m.is_active ? 1 : 0.65 }} onClick={() => navigate(`/models/${m.id}`)} data-model-id={m.id}>
                      <TableCell padding="checkbox" onClick={(e) => e.stopPropagation()}>
                        <Checkbox checked={picked.includes(m.id)} onChange={() => toggle(m.id)} slotProps={{ input: { 'aria-label': `Compare ${m.name}` } }} />
                      </TableCell>
                      <TableCell>
                        <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                          <Typography sx={{ fontWeight: 600 }} variant="body2">
                            {m.name}
                          </Typography>
                          {!m.is_active && <Chip size="small" label="inactive" sx={{ height: 20 }} />}
                        </Stack>
                        <Typography variant="caption" color="text.secondary">
                          {m.model_type}
                        </Typography>
                      </TableCell>
                      <TableCell>
                        <TaskChip task={m.task_type} />
                      </TableCell>
                      <TableCell>
                        <ClassChips classes={m.classes} />
                      </TableCell>
                      <TableCell align="right">
                        {keysShown.length ? (
                          keysShown.map((k) => (
                            <Typography key={k} variant="body2" sx={{ whiteSpace: 'nowrap' }}>
                              {metricLabel(k)} <b>{formatMetric(m.performance_metrics![k])}</b>
                            </Typography>
                          ))
                        ) : (
                          '—'
                        )}
                      </TableCell>
                      <TableCell align="right">{m.image_size} px</TableCell>
                      <TableCell align="right">{formatRelative(m.created_at)}</TableCell>
                    </TableRow>
                  );
                })}
              </TableBody>
            </Table>
          </Box>
        </Card>
      )}
    </>
  );
}
