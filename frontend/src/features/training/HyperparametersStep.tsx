// Step 5: the model size and the hyperparameters, grouped, each with what it does; a bad value
// is flagged on its field as soon as it is typed.

import { useEffect, useState } from 'react';
import {
  Box,
  Button,
  Card,
  CardActionArea,
  CardContent,
  Collapse,
  FormControlLabel,
  FormHelperText,
  Grid,
  MenuItem,
  Stack,
  Switch,
  TextField,
  Typography,
} from '@mui/material';
import type { Hyperparameters } from '@/api/types';
import { checkValue, defaultsFor, GROUPS, modelName, SCALES, scaleOf, specsFor, type HpSpec } from './hyperparameters';
import type { StepProps } from './WizardSteps';

function NumberField({ spec, value, error, onChange }: { spec: HpSpec; value: number | undefined; error?: string; onChange: (v: number) => void }) {
  // Keep the raw text so that "0." or "" can be typed; the number goes to the state.
  const [text, setText] = useState(value === undefined || Number.isNaN(value) ? '' : String(value));
  // Follow outside changes (reset to defaults, a new task) without fighting the user's typing.
  useEffect(() => {
    const typed = text.trim() === '' ? NaN : Number(text);
    if (value !== undefined && !Number.isNaN(value) && typed !== value) setText(String(value));
  }, [value]); // eslint-disable-line react-hooks/exhaustive-deps
  const local = text.trim() === '' ? 'Enter a number.' : checkValue(spec, Number(text));
  const shown = error ?? (local && text !== String(value) ? local : undefined);
  return (
    <TextField
      label={spec.label}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value.trim() === '' ? NaN : Number(e.target.value));
      }}
      error={!!shown}
      helperText={shown ?? spec.help}
      slotProps={{ htmlInput: { inputMode: spec.kind === 'int' ? 'numeric' : 'decimal', 'aria-label': spec.label, name: spec.key } }}
      fullWidth
    />
  );
}

export function HyperparametersStep({ state, setState, errors, specs: given }: StepProps) {
  const task = state.task ?? 'detect';
  const specs = given ?? specsFor(task);
  const [advanced, setAdvanced] = useState(Object.keys(errors).some((k) => !['epochs', 'batch', 'imgsz', 'model'].includes(k)));
  const advancedError = Object.keys(errors).some((k) => !['epochs', 'batch', 'imgsz', 'model'].includes(k));
  useEffect(() => {
    if (advancedError) setAdvanced(true);
  }, [advancedError]);
  const set = (key: keyof Hyperparameters, v: unknown) => setState((s) => ({ ...s, hp: { ...s.hp, [key]: v } }));
  const scale = scaleOf(state.hp.model);
  const defaults = defaultsFor(task, scale);
  const basic = new Set(['epochs', 'batch', 'imgsz']);

  const field = (s: HpSpec) => {
    const v = state.hp[s.key];
    const err = errors[s.key];
    if (s.kind === 'bool')
      return (
        <Box>
          <FormControlLabel control={<Switch checked={!!v} onChange={(e) => set(s.key, e.target.checked)} />} label={s.label} />
          <FormHelperText error={!!err} sx={{ mt: 0 }}>
            {err ?? s.help}
          </FormHelperText>
        </Box>
      );
    if (s.kind === 'select' || s.options)
      return (
        <TextField
          select
          label={s.label}
          value={v ?? ''}
          onChange={(e) => set(s.key, s.kind === 'select' ? e.target.value : Number(e.target.value))}
          error={!!err}
          helperText={err ?? s.help}
          fullWidth
        >
          {s.options!.map((o) => (
            <MenuItem key={o} value={o}>
              {o}
            </MenuItem>
          ))}
        </TextField>
      );
    return <NumberField key={`${task}-${s.key}`} spec={s} value={v as number | undefined} error={err} onChange={(n) => set(s.key, n)} />;
  };

  return (
    <Stack spacing={3}>
      <Box>
        <Typography variant="subtitle2">Model size</Typography>
        <Typography variant="body2" color="text.secondary" sx={{ mb: 1.5 }}>
          Bigger models are more accurate and slower. Start small; you can always train a larger one later.
        </Typography>
        <Grid container spacing={1}>
          {SCALES.map((s) => {
            const sel = s.scale === scale;
            return (
              <Grid key={s.scale} size={{ xs: 6, sm: 4, md: 'grow' }}>
                <Card sx={{ height: '100%', borderColor: sel ? 'primary.main' : undefined, borderWidth: sel ? 2 : 1 }}>
                  <CardActionArea sx={{ height: '100%', display: 'flex', flexDirection: 'column', alignItems: 'stretch', justifyContent: 'flex-start' }} onClick={() => set('model', modelName(task, s.scale))} aria-pressed={sel} data-scale={s.scale}>
                    <CardContent sx={{ p: 1.5 }}>
                      <Typography sx={{ fontWeight: 700 }}>
                        {s.name} <Typography component="span" color="text.secondary">({s.scale})</Typography>
                      </Typography>
                      <Typography variant="caption" color="text.secondary" component="div">
                        {s.params[task]} parameters
                      </Typography>
                      <Typography variant="caption" component="div">
                        {s.hint}
                      </Typography>
                    </CardContent>
                  </CardActionArea>
                </Card>
              </Grid>
            );
          })}
        </Grid>
        {errors.model && <FormHelperText error>{errors.model}</FormHelperText>}
      </Box>
      <Grid container spacing={2}>
        {specs.filter((s) => basic.has(s.key)).map((s) => (
          <Grid key={s.key} size={{ xs: 12, md: 4 }}>
            {field(s)}
          </Grid>
        ))}
      </Grid>
      <Box>
        <Stack direction="row" spacing={1}>
          <Button onClick={() => setAdvanced((a) => !a)}>{advanced ? 'Hide advanced settings' : 'Show advanced settings'}</Button>
          <Button color="inherit" onClick={() => setState((s) => ({ ...s, hp: { ...defaults, model: s.hp.model } }))}>
            Reset to defaults
          </Button>
        </Stack>
        <Collapse in={advanced}>
          <Stack spacing={3} sx={{ mt: 2 }}>
            {GROUPS.map((g) => {
              const inGroup = specs.filter((s) => s.group === g.group && !basic.has(s.key));
              if (!inGroup.length) return null;
              return (
                <Box key={g.group}>
                  <Typography variant="subtitle2">{g.title}</Typography>
                  <Typography variant="body2" color="text.secondary" sx={{ mb: 1.5 }}>
                    {g.blurb}
                  </Typography>
                  <Grid container spacing={2}>
                    {inGroup.map((s) => (
                      <Grid key={s.key} size={{ xs: 12, sm: 6, lg: 4 }}>
                        {field(s)}
                      </Grid>
                    ))}
                  </Grid>
                </Box>
              );
            })}
          </Stack>
        </Collapse>
      </Box>
    </Stack>
  );
}
