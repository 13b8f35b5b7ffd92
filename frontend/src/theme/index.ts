// The app's MUI theme: palette and type here, per-component overrides in `customizations/`.
import { createTheme } from '@mui/material/styles';
import { dataDisplay, inputs, navigation, surfaces } from './customizations';
import { brand } from './palette';

export const theme = createTheme({
  palette: {
    mode: 'light',
    primary: { main: brand.primary, dark: brand.primaryDark },
    secondary: { main: brand.secondary },
    background: { default: brand.background, paper: brand.paper },
    text: { primary: brand.text, secondary: brand.textMuted },
    divider: brand.border,
  },
  shape: { borderRadius: 10 },
  typography: {
    fontFamily: '"Inter", "Segoe UI", Roboto, "Helvetica Neue", Arial, system-ui, sans-serif',
    h4: { fontWeight: 700, fontSize: '1.6rem', letterSpacing: -0.2 },
    h5: { fontWeight: 700, fontSize: '1.3rem' },
    h6: { fontWeight: 650, fontSize: '1.05rem' },
    subtitle2: { fontWeight: 600 },
    button: { fontWeight: 600 },
  },
  components: { ...surfaces, ...inputs, ...dataDisplay, ...navigation },
});

export { brand, colorForLabel, seriesColors } from './palette';
