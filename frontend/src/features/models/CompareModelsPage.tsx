// Two or more models side by side: their metrics in one table with the best of each row
// marked, their classes and settings, and each one's training curves.

import { useMemo } from 'react';
import { Line } from 'react-chartjs-2';
import { useSearchParams } from 'react-router-dom';
import { useQueries } from '@tanstack/react-query';
import { Alert, Box, Card, CardContent, CardHeader, Grid, Table, TableBody, TableCell, TableHead, TableRow, Typography } from '@mui/material';
import * as ep from '@/api/endpoints';
import { keys } from '@/api/queries';
import type { TrainedModel } from '@/api/types';
import { ErrorState } from '@/components/ErrorState';
import { formatMetric } from '@/components/format';
import { LoadingState } from '@/components/LoadingState';
import { PageHeader } from '@/components/PageHeader';
import { TaskChip } from '@/components/TaskChip';
import '@/features/training/MetricChart'; // registers the chart.js parts
import { HEADLINE, higherIsBetter, metricLabel, series } from '@/features/training/metrics';
import { seriesColors } from '@/theme';
import type { LiveJobState } from '@/ws/jobEvents';
import { ClassChips } from './ModelsPage';
import { TrainingCurves } from './ModelDetailPage';

/**
 * The headline metric of each model per epoch in one chart. The per-model curve cards below
 * follow each job's history into `['jobs', id, 'metrics']`; this reads the same cache entries.
 */
function OverlayChart({ models }: { models: TrainedModel[] }) {
  const withJobs = models.filter((m) => m.training_job_id != null);
  const states = useQueries({
    queries: withJobs.map((m) => ({ queryKey: keys.jobMetrics(m.training_job_id!), queryFn: () => null as unknown as LiveJobState, enabled: false })),
  });
  const task = models[0].task_type;
  const metric = HEADLINE[task].find((k) => states.some((s) => s.data?.epochs.some((e) => typeof e.metrics[k] === 'number'))) ?? HEADLINE[task][0];
  const maxEpochs = Math.max(0, ...states.map((s) => s.data?.epochs.length ?? 0));
  const data = {
    labels: Array.from({ length: maxEpochs }, (_, i) => String(i + 1)),
    datasets: withJobs.map((m, i) => ({
      label: m.name,
      data: series(states[i].data?.epochs ?? [], metric),
      borderColor: seriesColors[i % seriesColors.length],
      backgroundColor: seriesColors[i % seriesColors.length],
      borderWidth: 2,
      pointRadius: maxEpochs > 20 ? 0 : 2,
      pointHoverRadius: 4,
      tension: 0.25,
      spanGaps: true,
    })),
  };
  return (
    <Card sx={{ mb: 2 }}>
      <CardHeader title={`${metricLabel(metric)} per epoch`} subheader="Each model’s validation score while it trained" />
      <CardContent sx={{ pt: 0, height: 280 }}>
        {maxEpochs === 0 ? (
          <Typography color="text.secondary">Loading the training histories…</Typography>
        ) : (
          <Line
            data={data}
            options={{
              responsive: true,
              maintainAspectRatio: false,
              animation: false,
              interaction: { mode: 'index', intersect: false },
              plugins: { legend: { position: 'bottom', labels: { boxWidth: 14, boxHeight: 2, font: { size: 11 } } } },
              scales: { x: { title: { display: true, text: 'Epoch' }, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { min: 0, max: 1 } },
            }}
            aria-label={`${metricLabel(metric)} per epoch for each model`}
            role="img"
          />
        )}
      </CardContent>
    </Card>
  );
}

/** For each metric, the indexes of the best models: those with the best value, unless fewer
 * than two models have the metric or every one of them has the same value (no winner). */
export function bestPerMetric(models: TrainedModel[], names: string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const n of names) {
    const hib = higherIsBetter(n);
    const values = models.map((m) => m.performance_metrics?.[n]).map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
    const present = values.filter((v): v is number => v !== null);
    const top = hib ? Math.max(...present) : Math.min(...present);
    const winners = values.flatMap((v, i) => (v !== null && Math.abs(v - top) < 1e-9 ? [i] : []));
    out[n] = present.length >= 2 && winners.length < present.length ? winners : [];
  }
  return out;
}

export function CompareModelsPage() {
  const [params] = useSearchParams();
  const ids = useMemo(() => (params.get('ids') ?? '').split(',').map(Number).filter((n) => Number.isFinite(n) && n > 0), [params]);
  const results = useQueries({ queries: ids.map((id) => ({ queryKey: keys.model(id), queryFn: () => ep.models.get(id) })) });
  const header = <PageHeader crumbs={[{ label: 'Models', to: '/models' }, { label: 'Compare' }]} title="Compare models" />;
  if (ids.length < 2)
    return (
      <>
        {header}
        <Alert severity="info">Pick two or more models on the Models page to compare them.</Alert>
      </>
    );
  if (results.some((r) => r.isPending)) return <LoadingState label="Loading models…" />;
  const failed = results.find((r) => r.isError);
  if (failed) return <ErrorState error={failed.error} title="Could not load one of the models" />;
  const models = results.map((r) => r.data!) as TrainedModel[];
  const names = [...new Set(models.flatMap((m) => Object.keys(m.performance_metrics ?? {})))].sort();
  const best = bestPerMetric(models, names);
  const mixed = new Set(models.map((m) => m.task_type)).size > 1;

  return (
    <>
      {header}
      {mixed && (
        <Alert severity="warning" sx={{ mb: 2 }}>
          These models do different tasks, so only some metrics are comparable.
        </Alert>
      )}
      <Card sx={{ mb: 2 }}>
        <Box sx={{ overflowX: 'auto' }}>
          <Table size="small" data-testid="compare-table">
            <TableHead>
              <TableRow>
                <TableCell />
                {models.map((m) => (
                  <TableCell key={m.id} align="right" sx={{ textTransform: 'none', fontSize: '0.9rem', color: 'text.primary' }}>
                    {m.name}
                  </TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              <TableRow>
                <TableCell sx={{ color: 'text.secondary' }}>Task</TableCell>
                {models.map((m) => (
                  <TableCell key={m.id} align="right">
                    <TaskChip task={m.task_type} />
                  </TableCell>
                ))}
              </TableRow>
              <TableRow>
                <TableCell sx={{ color: 'text.secondary' }}>Architecture · input</TableCell>
                {models.map((m) => (
                  <TableCell key={m.id} align="right">
                    {m.model_type} · {m.image_size} px
                  </TableCell>
                ))}
              </TableRow>
              {names.map((n) => (
                <TableRow key={n}>
                  <TableCell>{metricLabel(n)}</TableCell>
                  {models.map((m, i) => (
                    <TableCell key={m.id} align="right" sx={{ fontVariantNumeric: 'tabular-nums', fontWeight: best[n].includes(i) ? 700 : 400, color: best[n].includes(i) ? 'success.main' : undefined }}>
                      {formatMetric(m.performance_metrics?.[n])}
                    </TableCell>
                  ))}
                </TableRow>
              ))}
              <TableRow>
                <TableCell sx={{ color: 'text.secondary' }}>Classes</TableCell>
                {models.map((m) => (
                  <TableCell key={m.id} align="right">
                    <Box sx={{ display: 'flex', justifyContent: 'flex-end' }}>
                      <ClassChips classes={m.classes} max={4} />
                    </Box>
                  </TableCell>
                ))}
              </TableRow>
            </TableBody>
          </Table>
        </Box>
      </Card>
      {!mixed && <OverlayChart models={models} />}
      <Typography variant="h6" sx={{ mb: 1 }}>
        Training curves
      </Typography>
      <Grid container spacing={2}>
        {models.map((m) => (
          <Grid key={m.id} size={{ xs: 12, lg: models.length === 2 ? 6 : 4 }}>
            <Card>
              <CardHeader title={m.name} />
              <CardContent sx={{ pt: 0 }}>
                {m.training_job_id != null ? <TrainingCurves jobId={m.training_job_id} task={m.task_type} height={200} stacked /> : <Typography color="text.secondary">Not trained here.</Typography>}
              </CardContent>
            </Card>
          </Grid>
        ))}
      </Grid>
    </>
  );
}
