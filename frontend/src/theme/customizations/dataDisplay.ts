// Tables, chips and progress bars.
import type { Components, Theme } from '@mui/material/styles';
import { brand } from '../palette';

export const dataDisplay: Components<Theme> = {
  MuiTableCell: {
    styleOverrides: {
      root: { borderColor: brand.border },
      head: { fontWeight: 600, color: brand.textMuted, fontSize: '0.78rem', textTransform: 'uppercase', letterSpacing: 0.4 },
    },
  },
  MuiTableRow: {
    styleOverrides: { root: { '&:last-child td': { borderBottom: 0 } } },
  },
  MuiChip: {
    styleOverrides: { root: { fontWeight: 600, borderRadius: 8 } },
  },
  MuiLinearProgress: {
    styleOverrides: { root: { borderRadius: 4, height: 8 }, bar: { borderRadius: 4 } },
  },
  MuiTooltip: {
    defaultProps: { arrow: true },
  },
};
