// The side navigation and tabs.
import type { Components, Theme } from '@mui/material/styles';

export const navigation: Components<Theme> = {
  MuiListItemButton: {
    styleOverrides: { root: { borderRadius: 8 } },
  },
  MuiTab: {
    styleOverrides: { root: { textTransform: 'none', fontWeight: 600, minHeight: 44 } },
  },
  MuiTabs: {
    styleOverrides: { root: { minHeight: 44 } },
  },
  MuiStepLabel: {
    styleOverrides: { label: { fontWeight: 500 } },
  },
};
