// Buttons and form controls: no upper-case labels, comfortable but compact sizes.
import type { Components, Theme } from '@mui/material/styles';

export const inputs: Components<Theme> = {
  MuiButton: {
    defaultProps: { disableElevation: true },
    styleOverrides: {
      root: { textTransform: 'none', fontWeight: 600, borderRadius: 8 },
    },
  },
  MuiToggleButton: {
    styleOverrides: { root: { textTransform: 'none', fontWeight: 600 } },
  },
  MuiTextField: {
    defaultProps: { size: 'small' },
  },
  MuiSelect: {
    defaultProps: { size: 'small' },
  },
  MuiFormControl: {
    defaultProps: { size: 'small' },
  },
  MuiIconButton: {
    styleOverrides: { root: { borderRadius: 8 } },
  },
};
