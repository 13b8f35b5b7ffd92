// Training jobs with their status and progress, filterable by status and task. Running jobs
// refresh by themselves.

import { useMemo } from 'react';
import { Link as RouterLink, useNavigate, useSearchParams } from 'react-router-dom';
import {
  Box,
  Button,
  Card,
  LinearProgress,
  MenuItem,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  ToggleButton,
  ToggleButtonGroup,
  Typography,
} from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import TimelineIcon from '@mui/icons-material/TimelineOutlined';
import { useHasRoute } from '@/api/capabilities';
import { useJobs } from '@/api/queries';
import { JOB_STATUSES, TASK_TYPES, type JobStatus, type TaskType, type TrainingJob } from '@/api/types';
import { EmptyState } from '@/components/EmptyState';
import { ErrorState } from '@/components/ErrorState';
import { formatDuration, formatMetric, formatRelative } from '@/components/format';
import { SkeletonRows } from '@/components/LoadingState';
import { PageHeader } from '@/components/PageHeader';
import { StatusChip, statusLabel } from '@/components/StatusChip';
import { taskLabels, TaskChip } from '@/components/TaskChip';
import { headline, metricLabel } from './metrics';

function duration(j: TrainingJob): number | null {
  if (!j.started_at) return null;
  const end = j.completed_at ? new Date(j.completed_at).getTime() : Date.now();
  return (end - new Date(j.started_at).getTime()) / 1000;
}

export function JobsPage() {
  const [params, setParams] = useSearchParams();
  const status = (params.get('status') as JobStatus | null) ?? undefined;
  const task = (params.get('task') as TaskType | null) ?? '';
  const hasTraining = useHasRoute('/api/v1/training/jobs');
  const jobs = useJobs(status, hasTraining !== false);
  const navigate = useNavigate();

  const list = useMemo(() => {
    const l = (jobs.data ?? []).filter((j) => !task || j.task_type === task);
    return [...l].sort((a, b) => b.id - a.id);
  }, [jobs.data, task]);

  const setFilter = (k: string, v: string | undefined) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };

  return (
    <>
      <PageHeader
        title="Training jobs"
        subtitle="Every training run, queued, running or finished."
        actions={
          <Button variant="contained" startIcon={<AddIcon />} component={RouterLink} to="/training/new">
            Train a model
          </Button>
        }
      />
      <Stack direction={{ xs: 'column', md: 'row' }} spacing={1.5} sx={{ mb: 2, alignItems: { md: 'center' } }}>
        <ToggleButtonGroup size="small" exclusive value={status ?? 'all'} onChange={(_, v) => v && setFilter('status', v === 'all' ? undefined : v)} aria-label="Filter by status">
          <ToggleButton value="all">All</ToggleButton>
          {JOB_STATUSES.map((s) => (
            <ToggleButton key={s} value={s}>
              {statusLabel(s)}
            </ToggleButton>
          ))}
        </ToggleButtonGroup>
        <TextField select size="small" label="Task" value={task} onChange={(e) => setFilter('task', e.target.value || undefined)} sx={{ width: 200 }} slotProps={{ select: { displayEmpty: true }, inputLabel: { shrink: true } }}>
          <MenuItem value="">All tasks</MenuItem>
          {TASK_TYPES.map((t) => (
            <MenuItem key={t} value={t}>
              {taskLabels[t]}
            </MenuItem>
          ))}
        </TextField>
      </Stack>
      {hasTraining === false ? (
        <EmptyState icon={<TimelineIcon />} title="Training is not available on this server yet" description="This AnnotateForge server has no training endpoints. Annotating, importing and exporting work as usual." />
      ) : jobs.isPending ? (
        <SkeletonRows rows={4} />
      ) : jobs.isError ? (
        <ErrorState error={jobs.error} title="Could not load the training jobs" onRetry={() => jobs.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState
          icon={<TimelineIcon />}
          title={status || task ? 'No jobs match these filters' : 'No training jobs yet'}
          description={status || task ? 'Try another status or task.' : 'Start one with the training wizard: pick a task, your projects and classes, and watch it learn.'}
          action={
            status || task ? (
              <Button onClick={() => setParams({}, { replace: true })}>Clear filters</Button>
            ) : (
              <Button variant="contained" startIcon={<AddIcon />} component={RouterLink} to="/training/new">
                Train a model
              </Button>
            )
          }
        />
      ) : (
        <Card>
          <Box sx={{ overflowX: 'auto' }}>
            <Table size="small" data-testid="jobs-table">
              <TableHead>
                <TableRow>
                  <TableCell>Job</TableCell>
                  <TableCell>Task</TableCell>
                  <TableCell>Status</TableCell>
                  <TableCell sx={{ minWidth: 180 }}>Progress</TableCell>
                  <TableCell align="right">Result</TableCell>
                  <TableCell align="right">Duration</TableCell>
                  <TableCell align="right">Created</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {list.map((j) => {
                  const h = headline(j.task_type, j.final_metrics);
                  return (
                    <TableRow key={j.id} hover sx={{ cursor: 'pointer' }} onClick={() => navigate(`/jobs/${j.id}`)} data-job-id={j.id}>
                      <TableCell>
                        <Typography sx={{ fontWeight: 600 }} variant="body2">
                          {j.name || `Job #${j.id}`}
                        </Typography>
                        <Typography variant="caption" color="text.secondary">
                          #{j.id}
                          {j.config?.hyperparameters?.model ? ` · ${j.config.hyperparameters.model}` : ''}
                        </Typography>
                      </TableCell>
                      <TableCell>
                        <TaskChip task={j.task_type} />
                      </TableCell>
                      <TableCell>
                        <StatusChip status={j.status} />
                      </TableCell>
                      <TableCell>
                        <Stack spacing={0.5}>
                          <LinearProgress
                            variant="determinate"
                            value={j.status === 'completed' ? 100 : j.progress_percent}
                            color={j.status === 'failed' ? 'error' : j.status === 'completed' ? 'success' : 'primary'}
                            sx={{ height: 6 }}
                          />
                          <Typography variant="caption" color="text.secondary">
                            {j.total_epochs ? `Epoch ${j.current_epoch} / ${j.total_epochs}` : '—'}
                          </Typography>
                        </Stack>
                      </TableCell>
                      <TableCell align="right">
                        {h ? (
                          <Typography variant="body2">
                            {metricLabel(h.name)} <b>{formatMetric(h.value)}</b>
                          </Typography>
                        ) : j.status === 'failed' ? (
                          <Typography variant="body2" color="error" noWrap sx={{ maxWidth: 220 }} title={j.error_message ?? undefined}>
                            {j.error_message ?? 'Failed'}
                          </Typography>
                        ) : (
                          '—'
                        )}
                      </TableCell>
                      <TableCell align="right">{formatDuration(duration(j))}</TableCell>
                      <TableCell align="right">{formatRelative(j.created_at)}</TableCell>
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
