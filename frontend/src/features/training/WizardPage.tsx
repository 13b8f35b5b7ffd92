// The training wizard: task → data → classes → split → hyperparameters → review and start.
// A step is checked before moving on; the server's 422 field errors come back onto the step and
// field they concern. On success the training monitor opens.

import { useCallback, useMemo, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import {
  Alert,
  AlertTitle,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Grid,
  Stack,
  Step,
  StepButton,
  StepLabel,
  Stepper,
  Table,
  TableBody,
  TableCell,
  TableRow,
  TextField,
} from '@mui/material';
import RocketIcon from '@mui/icons-material/RocketLaunchOutlined';
import { useQuery } from '@tanstack/react-query';
import { useHasRoute } from '@/api/capabilities';
import { ApiError, errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import type { TaskType } from '@/api/types';
import { useCreateJob, useProjects } from '@/api/queries';
import { PageHeader } from '@/components/PageHeader';
import { taskLabels } from '@/components/TaskChip';
import { HyperparametersStep } from './HyperparametersStep';
import { defaultsFor, HP_SPECS, mergeFieldSpecs, scaleOf, SCALES, type HpSpec } from './hyperparameters';
import { ClassesStep, ProjectsStep, SplitStep, TaskStep, type StepProps } from './WizardSteps';
import {
  buildJobConfig,
  classMapping,
  firstInvalidStep,
  initialWizard,
  mapServerErrors,
  STEPS,
  validateStep,
  type StepErrors,
  type StepIndex,
  type WizardState,
} from './wizard';

function ReviewStep({ state, setState, errors }: StepProps) {
  const projects = useProjects();
  const names = (projects.data ?? []).filter((p) => state.projects.includes(p.id)).map((p) => p.name);
  const { names: classes } = classMapping(state.classes);
  const scale = SCALES.find((s) => s.scale === scaleOf(state.hp.model));
  const defaults = state.task ? defaultsFor(state.task) : null;
  const changed = HP_SPECS.filter((s) => state.hp[s.key] !== undefined && defaults && state.hp[s.key] !== defaults[s.key] && !['epochs', 'batch', 'imgsz'].includes(s.key));
  const rows: [string, React.ReactNode][] = [
    ['Task', state.task ? taskLabels[state.task] : '—'],
    ['Projects', names.join(', ') || '—'],
    ['Annotation types', state.annotationTypes.join(', ')],
    ['Classes', <Stack key="c" direction="row" sx={{ flexWrap: 'wrap', gap: 0.5 }}>{classes.map((c, i) => <Chip key={c} size="small" label={`${i}: ${c}`} />)}</Stack>],
    ['Split', `${Math.round(state.split.train_ratio * 100)}% train / ${Math.round((1 - state.split.train_ratio) * 100)}% validation, seed ${state.split.random_seed}${state.split.strategy ? `, ${state.split.strategy}` : ''}`],
    ['Model', `${state.hp.model}${scale ? ` (${scale.name}, ${state.task ? scale.params[state.task] : ''} parameters)` : ''}`],
    ['Schedule', `${state.hp.epochs} epochs, batch ${state.hp.batch}, ${state.hp.imgsz} px`],
    ['Changed from defaults', changed.length ? changed.map((s) => `${s.label}: ${String(state.hp[s.key])}`).join(', ') : 'none'],
  ];
  return (
    <Grid container spacing={3}>
      <Grid size={{ xs: 12, md: 7 }}>
        <Table size="small">
          <TableBody>
            {rows.map(([k, v]) => (
              <TableRow key={k}>
                <TableCell sx={{ color: 'text.secondary', width: 150, verticalAlign: 'top' }}>{k}</TableCell>
                <TableCell>{v}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </Grid>
      <Grid size={{ xs: 12, md: 5 }}>
        <Stack spacing={2}>
          <TextField
            label="Job name"
            value={state.name}
            onChange={(e) => setState((s) => ({ ...s, name: e.target.value }))}
            error={!!errors.name}
            helperText={errors.name ?? 'Optional. The trained model is named after it.'}
            slotProps={{ htmlInput: { name: 'job-name' } }}
            fullWidth
          />
          <TextField
            label="Notes"
            value={state.description}
            onChange={(e) => setState((s) => ({ ...s, description: e.target.value }))}
            error={!!errors.description}
            helperText={errors.description ?? 'Optional: what you are trying with this run.'}
            multiline
            minRows={3}
            fullWidth
          />
        </Stack>
      </Grid>
    </Grid>
  );
}

/** The task's hyperparameter specs, with the host's advertised ranges when it has them. */
function useHpSpecs(task: TaskType | null): HpSpec[] | undefined {
  const hasRoute = useHasRoute('/api/v1/training/defaults');
  const q = useQuery({
    queryKey: ['training', 'defaults', task],
    queryFn: () => ep.jobs.defaults(task!),
    enabled: !!task && hasRoute === true,
    staleTime: Infinity,
  });
  return useMemo(() => (task ? mergeFieldSpecs(task, q.data?.fields) : undefined), [task, q.data]);
}

const STEP_COMPONENTS = [TaskStep, ProjectsStep, ClassesStep, SplitStep, HyperparametersStep, ReviewStep];

export function WizardPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const create = useCreateJob();
  const preset = useMemo(() => params.getAll('project').map(Number).filter(Number.isFinite), [params]);
  const [state, setStateRaw] = useState<WizardState>(() => initialWizard(preset));
  const [step, setStep] = useState<StepIndex>(0);
  const [shown, setShown] = useState<Partial<Record<StepIndex, boolean>>>({});
  const [serverErrors, setServerErrors] = useState<Partial<Record<StepIndex, StepErrors>>>({});
  const [formError, setFormError] = useState<string | null>(null);

  // Editing clears the server's verdict on that step: it was about the old values.
  const setState = useCallback(
    (fn: (s: WizardState) => WizardState) => {
      setStateRaw(fn);
      setServerErrors((e) => (e[step] ? { ...e, [step]: undefined } : e));
    },
    [step],
  );

  const specs = useHpSpecs(state.task);
  const localErrors = validateStep(step, state, specs);
  const errors: StepErrors = { ...(shown[step] || step === 4 ? localErrors : {}), ...(serverErrors[step] ?? {}) };
  const Current = STEP_COMPONENTS[step];

  const goTo = (target: StepIndex) => {
    if (target > step) {
      // Every step before the target must be complete.
      for (let i = step; i < target; i = (i + 1) as StepIndex) {
        if (Object.keys(validateStep(i, state, specs)).length) {
          setShown((s) => ({ ...s, [i]: true }));
          setStep(i);
          return;
        }
      }
    }
    setStep(target);
  };

  const start = async () => {
    setFormError(null);
    const bad = firstInvalidStep(state, specs);
    if (bad !== null) {
      setShown((s) => ({ ...s, [bad]: true }));
      setStep(bad);
      return;
    }
    try {
      const job = await create.mutateAsync(buildJobConfig(state, specs));
      navigate(`/jobs/${job.id}`);
    } catch (e) {
      if (e instanceof ApiError && e.fieldErrors().length) {
        const { byStep, first } = mapServerErrors(e.fieldErrors());
        setServerErrors(byStep);
        setFormError(e.message);
        if (first !== null) setStep(first);
      } else setFormError(errorMessage(e));
    }
  };

  return (
    <>
      <PageHeader title="Train a model" subtitle="Six short steps from your annotations to a model training in the background." crumbs={[{ label: 'Training jobs', to: '/jobs' }, { label: 'New' }]} />
      <Card>
        <CardContent sx={{ p: { xs: 2, md: 3 } }}>
          <Stepper nonLinear activeStep={step} alternativeLabel sx={{ mb: 3 }}>
            {STEPS.map((label, i) => {
              const idx = i as StepIndex;
              const hasError = !!serverErrors[idx] || (shown[idx] && Object.keys(validateStep(idx, state, specs)).length > 0);
              return (
                <Step key={label} completed={idx < step && !hasError}>
                  <StepButton onClick={() => goTo(idx)}>
                    <StepLabel error={hasError}>{label}</StepLabel>
                  </StepButton>
                </Step>
              );
            })}
          </Stepper>
          {formError && (
            <Alert severity="error" sx={{ mb: 2 }}>
              <AlertTitle>The server did not accept this job</AlertTitle>
              {Object.keys(serverErrors).length > 0 ? 'Some values need changing; they are marked on their fields (steps with a warning sign).' : formError}
            </Alert>
          )}
          <Box sx={{ minHeight: 320 }} data-testid={`wizard-step-${step}`}>
            <Current state={state} setState={setState} errors={errors} specs={specs} />
          </Box>
          <Stack direction="row" spacing={1} sx={{ mt: 3, justifyContent: 'space-between' }}>
            <Button disabled={step === 0} onClick={() => setStep((s) => (s - 1) as StepIndex)}>
              Back
            </Button>
            {step < 5 ? (
              <Button variant="contained" onClick={() => goTo((step + 1) as StepIndex)}>
                Next: {STEPS[step + 1]}
              </Button>
            ) : (
              <Button variant="contained" size="large" startIcon={<RocketIcon />} onClick={start} disabled={create.isPending}>
                {create.isPending ? 'Starting…' : 'Start training'}
              </Button>
            )}
          </Stack>
        </CardContent>
      </Card>
    </>
  );
}
