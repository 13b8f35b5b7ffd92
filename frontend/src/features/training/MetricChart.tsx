// A line chart of metrics per epoch (chart.js through react-chartjs-2). It only reads the
// epochs it is given; the live updates come from the query the WebSocket hook writes.

import { useMemo } from 'react';
import { Box, Typography } from '@mui/material';
import { CategoryScale, Chart as ChartJS, Filler, Legend, LinearScale, LineElement, PointElement, Tooltip, type ChartOptions } from 'chart.js';
import { Line } from 'react-chartjs-2';
import { seriesColors } from '@/theme';
import type { EpochRecord, MetricMeta } from '@/ws/jobEvents';
import { metricLabel, series, startsHidden } from './metrics';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, Legend, Tooltip, Filler);

export interface MetricChartProps {
  title: string;
  epochs: EpochRecord[];
  names: string[];
  meta?: Record<string, MetricMeta>;
  /** Fix the y axis to [0, 1] (scores). */
  unitInterval?: boolean;
  height?: number;
  emptyText?: string;
  testId?: string;
}

export function MetricChart({ title, epochs, names, meta = {}, unitInterval, height = 260, emptyText = 'Waiting for the first epoch…', testId }: MetricChartProps) {
  const data = useMemo(() => {
    // Same component → same colour; val dashed next to its train line.
    const components = [...new Set(names.map((n) => n.replace(/^(train|val)_/, '')))];

    return {
      labels: epochs.map((e) => String(e.epoch)),
      datasets: names.map((n) => {
        const color = seriesColors[components.indexOf(n.replace(/^(train|val)_/, '')) % seriesColors.length];
        const isVal = n.startsWith('val_');
        return {
          label: metricLabel(n, meta[n]),
          data: series(epochs, n),
          borderColor: color,
          backgroundColor: color,
          borderDash: isVal ? [6, 4] : undefined,
          hidden: startsHidden(n, names),
          borderWidth: 2,
          // Markers help read a few epochs; over many they only clutter the lines.
          pointRadius: epochs.length > 20 ? 0 : 2.5,
          pointHoverRadius: 4,
          tension: 0.25,
          spanGaps: true,
        };
      }),
    };
  }, [epochs, names, meta]);

  const options = useMemo<ChartOptions<'line'>>(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: { duration: 250 },
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 14, boxHeight: 2, font: { size: 11 } } },
        tooltip: { callbacks: { title: (items) => `Epoch ${items[0]?.label ?? ''}`, label: (i) => `${i.dataset.label}: ${typeof i.parsed.y === 'number' ? i.parsed.y.toFixed(4) : '—'}` } },
      },
      scales: {
        x: { title: { display: true, text: 'Epoch', font: { size: 11 } }, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12, font: { size: 11 } } },
        y: unitInterval ? { min: 0, max: 1, ticks: { font: { size: 11 } } } : { beginAtZero: false, ticks: { font: { size: 11 } } },
      },
    }),
    [unitInterval],
  );

  return (
    <Box data-testid={testId} data-points={epochs.length}>
      <Typography variant="subtitle2" sx={{ mb: 1 }}>
        {title}
      </Typography>
      <Box sx={{ height, position: 'relative' }}>
        {epochs.length === 0 || names.length === 0 ? (
          <Box sx={{ height: '100%', display: 'flex', alignItems: 'center', justifyContent: 'center', border: '1px dashed', borderColor: 'divider', borderRadius: 2, color: 'text.secondary' }}>
            <Typography variant="body2">{emptyText}</Typography>
          </Box>
        ) : (
          <Line data={data} options={options} aria-label={title} role="img" />
        )}
      </Box>
    </Box>
  );
}
