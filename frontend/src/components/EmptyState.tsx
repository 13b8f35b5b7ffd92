import type { ReactNode } from 'react';
import { Box, Paper, Typography } from '@mui/material';

/** What a page shows when there is nothing yet: what this is, and the first thing to do. */
export function EmptyState({ icon, title, description, action, compact }: { icon?: ReactNode; title: string; description?: ReactNode; action?: ReactNode; compact?: boolean }) {
  return (
    <Paper variant="outlined" sx={{ py: compact ? 4 : 7, px: 3, textAlign: 'center', borderStyle: 'dashed', bgcolor: 'transparent' }}>
      {icon && <Box sx={{ color: 'primary.main', opacity: 0.8, mb: 1.5, '& svg': { fontSize: 48 } }}>{icon}</Box>}
      <Typography variant="h6">{title}</Typography>
      {description && (
        <Typography color="text.secondary" sx={{ mt: 1, maxWidth: 520, mx: 'auto' }}>
          {description}
        </Typography>
      )}
      {action && <Box sx={{ mt: 2.5 }}>{action}</Box>}
    </Paper>
  );
}
