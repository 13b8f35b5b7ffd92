// Cards, papers and the app bar: flat, bordered surfaces rather than heavy shadows.
import type { Components, Theme } from '@mui/material/styles';
import { brand } from '../palette';

export const surfaces: Components<Theme> = {
  MuiPaper: {
    defaultProps: { elevation: 0 },
    styleOverrides: { outlined: { borderColor: brand.border } },
  },
  MuiCard: {
    defaultProps: { variant: 'outlined' },
    styleOverrides: { root: { borderRadius: 12, borderColor: brand.border } },
  },
  MuiCardHeader: {
    styleOverrides: { title: { fontSize: '1rem', fontWeight: 600 }, subheader: { fontSize: '0.85rem' }, root: { paddingBottom: 4 } },
  },
  MuiAppBar: {
    defaultProps: { elevation: 0, color: 'inherit' },
    styleOverrides: { root: { borderBottom: `1px solid ${brand.border}`, backgroundColor: brand.paper } },
  },
  MuiDialog: {
    styleOverrides: { paper: { borderRadius: 14 } },
  },
  MuiAlert: {
    styleOverrides: { root: { borderRadius: 10 } },
  },
};
