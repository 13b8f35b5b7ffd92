import { Chip, type ChipProps } from '@mui/material';
import type { JobStatus } from '@/api/types';

const look: Record<JobStatus, { label: string; color: ChipProps['color'] }> = {
  pending: { label: 'Queued', color: 'default' },
  preparing: { label: 'Preparing data', color: 'info' },
  training: { label: 'Training', color: 'primary' },
  completed: { label: 'Completed', color: 'success' },
  failed: { label: 'Failed', color: 'error' },
  cancelled: { label: 'Cancelled', color: 'warning' },
};

export function statusLabel(s: JobStatus): string {
  return look[s]?.label ?? s;
}

export function StatusChip({ status, size = 'small' }: { status: JobStatus; size?: ChipProps['size'] }) {
  const l = look[status] ?? { label: status, color: 'default' as const };
  return <Chip size={size} label={l.label} color={l.color} variant={status === 'pending' ? 'outlined' : 'filled'} data-status={status} />;
}
