// The first four steps of the training wizard: task, data, classes, split.

import { useEffect } from 'react';
import {
  Alert,
  Box,
  Card,
  CardActionArea,
  CardContent,
  Checkbox,
  Chip,
  FormControlLabel,
  FormGroup,
  FormHelperText,
  Grid,
  MenuItem,
  Slider,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import CategoryIcon from '@mui/icons-material/CategoryOutlined';
import CropFreeIcon from '@mui/icons-material/CropFree';
import PolylineIcon from '@mui/icons-material/PolylineOutlined';
import CheckCircleIcon from '@mui/icons-material/CheckCircle';
import { useHasRoute } from '@/api/capabilities';
import { usePlugins, useProjects } from '@/api/queries';
import type { AnnotationType, TaskType } from '@/api/types';
import { ErrorState } from '@/components/ErrorState';
import { SkeletonRows } from '@/components/LoadingState';
import { useClassCounts } from './useClassCounts';
import type { HpSpec } from './hyperparameters';
import { ACCEPTED_TYPES, classMapping, mergeClassRows, withTask, type StepErrors, type WizardState } from './wizard';

export interface StepProps {
  state: WizardState;
  setState: (fn: (s: WizardState) => WizardState) => void;
  errors: StepErrors;
  /** The task's hyperparameter specs (with the host's ranges when known). */
  specs?: HpSpec[];
}

const TASKS: { task: TaskType; title: string; icon: React.ReactNode; does: string; needs: string; gives: string; metrics: string; imgsz: number }[] = [
  {
    task: 'classify',
    title: 'Classification',
    icon: <CategoryIcon />,
    does: 'Says what the whole image shows.',
    needs: 'One class per image (the image class).',
    gives: 'The top classes with their confidence.',
    metrics: 'Top-1 and top-5 accuracy',
    imgsz: 224,
  },
  {
    task: 'detect',
    title: 'Object detection',
    icon: <CropFreeIcon />,
    does: 'Finds every object and draws a box around it.',
    needs: 'Boxes (circles and polygons count as their bounding box).',
    gives: 'Boxes with a class and confidence.',
    metrics: 'Precision, recall, mAP50, mAP50-95',
    imgsz: 640,
  },
  {
    task: 'segment',
    title: 'Instance segmentation',
    icon: <PolylineIcon />,
    does: 'Finds every object and outlines its exact shape.',
    needs: 'Polygons (circles and boxes can be turned into polygons).',
    gives: 'Outlines (polygons) and boxes with a class and confidence.',
    metrics: 'Box and mask mAP50, mAP50-95',
    imgsz: 640,
  },
];

export function TaskStep({ state, setState, errors }: StepProps) {
  return (
    <>
      <Typography color="text.secondary" sx={{ mb: 2 }}>
        What should the model do? Each kind of model learns from different annotations.
      </Typography>
      <Grid container spacing={2}>
        {TASKS.map((t) => {
          const selected = state.task === t.task;
          return (
            <Grid key={t.task} size={{ xs: 12, md: 4 }}>
              <Card sx={{ height: '100%', borderColor: selected ? 'primary.main' : undefined, borderWidth: selected ? 2 : 1, bgcolor: selected ? 'rgba(63,81,181,0.04)' : undefined }}>
                <CardActionArea sx={{ height: '100%', display: 'flex', flexDirection: 'column', alignItems: 'stretch', justifyContent: 'flex-start' }} onClick={() => setState((s) => withTask(s, t.task))} data-task={t.task} aria-pressed={selected}>
                  <CardContent>
                    <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1, color: 'primary.main' }}>
                      {t.icon}
                      <Typography variant="h6" sx={{ flex: 1, color: 'text.primary' }}>
                        {t.title}
                      </Typography>
                      {selected && <CheckCircleIcon color="primary" />}
                    </Stack>
                    <Typography sx={{ mb: 1.5 }}>{t.does}</Typography>
                    <Table size="small" sx={{ '& td': { px: 0, verticalAlign: 'top' } }}>
                      <TableBody>
                        <TableRow>
                          <TableCell sx={{ color: 'text.secondary', width: 70 }}>Needs</TableCell>
                          <TableCell>{t.needs}</TableCell>
                        </TableRow>
                        <TableRow>
                          <TableCell sx={{ color: 'text.secondary' }}>Gives</TableCell>
                          <TableCell>{t.gives}</TableCell>
                        </TableRow>
                        <TableRow>
                          <TableCell sx={{ color: 'text.secondary' }}>Scored by</TableCell>
                          <TableCell>{t.metrics}</TableCell>
                        </TableRow>
                        <TableRow>
                          <TableCell sx={{ color: 'text.secondary' }}>Input</TableCell>
                          <TableCell>{t.imgsz}×{t.imgsz} px typical</TableCell>
                        </TableRow>
                      </TableBody>
                    </Table>
                  </CardContent>
                </CardActionArea>
              </Card>
            </Grid>
          );
        })}
      </Grid>
      {errors.task_type && (
        <Alert severity="error" sx={{ mt: 2 }}>
          {errors.task_type}
        </Alert>
      )}
    </>
  );
}

export function ProjectsStep({ state, setState, errors }: StepProps) {
  const projects = useProjects();
  const toggle = (id: number) =>
    setState((s) => ({ ...s, projects: s.projects.includes(id) ? s.projects.filter((p) => p !== id) : [...s.projects, id] }));
  if (projects.isPending) return <SkeletonRows rows={3} />;
  if (projects.isError) return <ErrorState error={projects.error} onRetry={() => projects.refetch()} />;
  const list = projects.data;
  const chosen = list.filter((p) => state.projects.includes(p.id));
  const imgs = chosen.reduce((n, p) => n + (p.image_count ?? 0), 0);
  const anns = chosen.reduce((n, p) => n + (p.annotation_count ?? 0), 0);
  return (
    <>
      <Typography color="text.secondary" sx={{ mb: 2 }}>
        Choose the projects whose images and annotations the model learns from. Several projects are combined into one dataset.
      </Typography>
      {list.length === 0 ? (
        <Alert severity="info">You have no projects yet. Create one and label some images first.</Alert>
      ) : (
        <Table size="small">
          <TableHead>
            <TableRow>
              <TableCell padding="checkbox" />
              <TableCell>Project</TableCell>
              <TableCell align="right">Images</TableCell>
              <TableCell align="right">Annotations</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {list.map((p) => (
              <TableRow key={p.id} hover onClick={() => toggle(p.id)} sx={{ cursor: 'pointer' }} selected={state.projects.includes(p.id)}>
                <TableCell padding="checkbox">
                  <Checkbox checked={state.projects.includes(p.id)} slotProps={{ input: { 'aria-label': `Use ${p.name}` } }} />
                </TableCell>
                <TableCell>
                  <Typography sx={{ fontWeight: 550 }}>{p.name}</Typography>
                  {p.description && (
                    <Typography variant="caption" color="text.secondary">
                      {p.description}
                    </Typography>
                  )}
                </TableCell>
                <TableCell align="right">{p.image_count ?? '–'}</TableCell>
                <TableCell align="right">{p.annotation_count ?? '–'}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {chosen.length > 0 && (
        <Typography sx={{ mt: 2 }} color="text.secondary">
          Selected: <b>{chosen.length}</b> project{chosen.length > 1 ? 's' : ''}, <b>{imgs}</b> images, <b>{anns}</b> annotations.
        </Typography>
      )}
      {errors.projects && <FormHelperText error sx={{ mt: 1, fontSize: '0.9rem' }}>{errors.projects}</FormHelperText>}
    </>
  );
}

const typeNames: Record<AnnotationType, string> = {
  image_class: 'Image class',
  box: 'Boxes',
  rectangle: 'Rectangles',
  circle: 'Circles',
  polygon: 'Polygons',
};
const typeHints: Partial<Record<TaskType, Partial<Record<AnnotationType, string>>>> = {
  detect: { polygon: 'used as their bounding box', circle: 'used as their bounding box' },
  segment: { circle: 'turned into polygons', box: 'turned into 4-point polygons', rectangle: 'turned into 4-point polygons' },
};

export function ClassesStep({ state, setState, errors }: StepProps) {
  const task = state.task ?? 'detect';
  const { counts, loading, error, elsewhere } = useClassCounts(state.projects, state.task, state.annotationTypes, ACCEPTED_TYPES[task]);

  useEffect(() => {
    if (!loading) setState((s) => ({ ...s, classes: mergeClassRows(s.classes, counts) }));
  }, [counts, loading, setState]);

  const toggleType = (t: AnnotationType) =>
    setState((s) => ({ ...s, annotationTypes: s.annotationTypes.includes(t) ? s.annotationTypes.filter((x) => x !== t) : [...s.annotationTypes, t] }));
  const setRow = (label: string, patch: Partial<{ include: boolean; target: string }>) =>
    setState((s) => ({ ...s, classes: s.classes.map((r) => (r.label === label ? { ...r, ...patch } : r)) }));

  const { names } = classMapping(state.classes);
  const merged = new Map<string, string[]>();
  for (const r of state.classes) if (r.include) merged.set(r.target.trim(), [...(merged.get(r.target.trim()) ?? []), r.label]);

  return (
    <Stack spacing={3}>
      <Box>
        <Typography variant="subtitle2" gutterBottom>
          Annotation types
        </Typography>
        <FormGroup row>
          {ACCEPTED_TYPES[task].map((t) => (
            <FormControlLabel
              key={t}
              control={<Checkbox checked={state.annotationTypes.includes(t)} onChange={() => toggleType(t)} disabled={task === 'classify'} />}
              label={
                <span>
                  {typeNames[t]}
                  {typeHints[task]?.[t] && (
                    <Typography component="span" variant="caption" color="text.secondary">
                      {' '}
                      ({typeHints[task]![t]})
                    </Typography>
                  )}
                </span>
              }
            />
          ))}
        </FormGroup>
        {errors.annotation_types && <FormHelperText error>{errors.annotation_types}</FormHelperText>}
      </Box>
      <Box>
        <Typography variant="subtitle2">Classes</Typography>
        <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
          The labels found in the chosen projects. Untick a label to leave it out; give two labels the same name to merge them; type a new name to rename.
        </Typography>
        {loading ? (
          <SkeletonRows rows={3} height={36} />
        ) : error ? (
          <ErrorState error={error} title="Could not count the labels" />
        ) : state.classes.length === 0 ? (
          <Alert severity="warning">{errors.class_mapping ?? 'No labels of these types in the chosen projects.'}</Alert>
        ) : (
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell padding="checkbox" />
                <TableCell>Label in the data</TableCell>
                <TableCell align="right">Count</TableCell>
                <TableCell>Train as</TableCell>
                <TableCell align="right">Class id</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {state.classes.map((r) => {
                const err = errors[`class_mapping.${r.label}`];
                const id = r.include ? names.indexOf(r.target.trim()) : -1;
                return (
                  <TableRow key={r.label} sx={{ opacity: r.include ? 1 : 0.5 }}>
                    <TableCell padding="checkbox">
                      <Checkbox checked={r.include} onChange={(e) => setRow(r.label, { include: e.target.checked })} slotProps={{ input: { 'aria-label': `Train on ${r.label}` } }} />
                    </TableCell>
                    <TableCell sx={{ fontWeight: 550 }}>{r.label}</TableCell>
                    <TableCell align="right">{r.count}</TableCell>
                    <TableCell sx={{ width: 220 }}>
                      <TextField
                        size="small"
                        value={r.target}
                        disabled={!r.include}
                        onChange={(e) => setRow(r.label, { target: e.target.value })}
                        error={!!err}
                        helperText={err}
                        slotProps={{ htmlInput: { 'aria-label': `Class name for ${r.label}` } }}
                        fullWidth
                      />
                    </TableCell>
                    <TableCell align="right">{id >= 0 ? id : '—'}</TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
        {state.classes.length > 0 && errors.class_mapping && (
          <FormHelperText error sx={{ fontSize: '0.9rem' }}>
            {errors.class_mapping}
          </FormHelperText>
        )}
        {elsewhere.length > 0 && (
          <Alert severity="info" sx={{ mt: 1.5 }} data-testid="labels-elsewhere">
            {elsewhere.map((e, i) => (
              <span key={e.label}>
                {i > 0 && ' '}
                <b>{e.label}</b> is only drawn as {e.types.map((t) => typeNames[t].toLowerCase()).join(' or ')}: tick {e.types.map((t) => typeNames[t]).join(' or ')} above to train it.
              </span>
            ))}
          </Alert>
        )}
        {names.length > 0 && (
          <Stack direction="row" useFlexGap sx={{ mt: 1.5, flexWrap: 'wrap', gap: 1, alignItems: 'center' }}>
            <Typography variant="body2" color="text.secondary">
              The model will learn {names.length} class{names.length > 1 ? 'es' : ''}:
            </Typography>
            {names.map((n, i) => {
              const from = merged.get(n) ?? [];
              return <Chip key={n} size="small" label={`${i}: ${n}${from.length > 1 || (from.length === 1 && from[0] !== n) ? ` ← ${from.join(' + ')}` : ''}`} />;
            })}
          </Stack>
        )}
      </Box>
    </Stack>
  );
}

export function SplitStep({ state, setState, errors }: StepProps) {
  const plugins = usePlugins(useHasRoute('/api/v1/plugins') === true);
  // Enabled splitters that serve this task (fields the registry gives; older hosts omit them).
  const task = state.task;
  const splitters = (plugins.data ?? []).filter((p) => p.kind === 'splitter' && p.enabled !== false && (!task || !p.task_types || p.task_types.includes(task)));
  const def = splitters.find((p) => (task && p.default_for ? p.default_for.includes(task) : p.is_default));
  const pct = Math.round(state.split.train_ratio * 100);
  return (
    <Stack spacing={3} sx={{ maxWidth: 640 }}>
      <Box>
        <Typography variant="subtitle2">Training / validation split</Typography>
        <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
          The model learns from the training images and is scored each epoch on the validation images it never trains on.
        </Typography>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
          <Typography variant="body2" sx={{ width: 90 }}>
            Train <b>{pct}%</b>
          </Typography>
          <Slider
            value={pct}
            min={50}
            max={95}
            step={5}
            marks
            onChange={(_, v) => setState((s) => ({ ...s, split: { ...s.split, train_ratio: (v as number) / 100 } }))}
            aria-label="Training share"
            valueLabelDisplay="auto"
            valueLabelFormat={(v) => `${v}% train`}
          />
          <Typography variant="body2" sx={{ width: 90, textAlign: 'right' }}>
            Val <b>{100 - pct}%</b>
          </Typography>
        </Stack>
        {errors.train_ratio && <FormHelperText error>{errors.train_ratio}</FormHelperText>}
      </Box>
      <TextField
        label="Random seed"
        type="number"
        value={Number.isNaN(state.split.random_seed) ? '' : state.split.random_seed}
        onChange={(e) => setState((s) => ({ ...s, split: { ...s.split, random_seed: e.target.value === '' ? NaN : Number(e.target.value) } }))}
        error={!!errors.random_seed}
        helperText={errors.random_seed ?? 'The same seed always gives the same split.'}
        sx={{ width: 240 }}
      />
      <TextField
        select
        label="Strategy"
        value={state.split.strategy}
        onChange={(e) => setState((s) => ({ ...s, split: { ...s.split, strategy: e.target.value } }))}
        error={!!errors.strategy}
        helperText={errors.strategy ?? 'Split plugins installed on this server.'}
        sx={{ width: 360 }}
        slotProps={{ select: { displayEmpty: true }, inputLabel: { shrink: true } }}
      >
        <MenuItem value="">Server default{def ? ` (${def.name})` : ''}</MenuItem>
        {splitters.map((p) => (
          <MenuItem key={p.id} value={p.name}>
            {p.name} {p.version}
            {p.description ? ` — ${p.description}` : ''}
          </MenuItem>
        ))}
      </TextField>
    </Stack>
  );
}
