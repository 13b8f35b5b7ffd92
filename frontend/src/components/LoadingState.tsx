import { Box, CircularProgress, Skeleton, Stack, Typography } from '@mui/material';

/** A centred spinner with a line saying what is loading. */
export function LoadingState({ label = 'Loading…', minHeight = 200 }: { label?: string; minHeight?: number }) {
  return (
    <Box role="status" aria-live="polite" sx={{ minHeight, display: 'flex', alignItems: 'center', justifyContent: 'center', gap: 1.5, color: 'text.secondary' }}>
      <CircularProgress size={22} />
      <Typography>{label}</Typography>
    </Box>
  );
}

/** Placeholder rows while a table or list loads. */
export function SkeletonRows({ rows = 4, height = 44 }: { rows?: number; height?: number }) {
  return (
    <Stack spacing={1} aria-busy="true">
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} variant="rounded" height={height} />
      ))}
    </Stack>
  );
}
