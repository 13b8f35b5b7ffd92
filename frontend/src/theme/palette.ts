// Colours shared by the theme and by drawings that MUI does not style (canvas overlays, charts).

export const brand = {
  primary: '#3f51b5',
  primaryDark: '#303f9f',
  secondary: '#00897b',
  background: '#f5f6fa',
  paper: '#ffffff',
  border: '#e3e6ef',
  text: '#1c2233',
  textMuted: '#5b6478',
  sidebar: '#161b2e',
  sidebarText: '#c5cae0',
};

/** Distinct colours for classes and chart series, readable on images and on white. */
export const seriesColors = [
  '#e53935', '#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#00acc1', '#fdd835', '#6d4c41',
  '#d81b60', '#3949ab', '#7cb342', '#f4511e', '#5e35b1', '#00897b', '#c0ca33', '#546e7a',
];

/** A stable colour per class label: the same label is always drawn in the same colour. */
export function colorForLabel(label: string, classes?: readonly string[]): string {
  const i = classes ? classes.indexOf(label) : -1;
  if (i >= 0) return seriesColors[i % seriesColors.length];
  let h = 0;
  for (let k = 0; k < label.length; k++) h = (h * 31 + label.charCodeAt(k)) >>> 0;
  return seriesColors[h % seriesColors.length];
}
