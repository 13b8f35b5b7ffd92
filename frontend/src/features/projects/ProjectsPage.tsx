// All projects the user can see, as cards with their counts, and creating a new one.

import { useState, type FormEvent } from 'react';
import { Link as RouterLink, useNavigate } from 'react-router-dom';
import {
  Alert,
  Box,
  Button,
  Card,
  CardActionArea,
  CardContent,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Grid,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import FolderIcon from '@mui/icons-material/FolderOutlined';
import ImageIcon from '@mui/icons-material/ImageOutlined';
import LabelIcon from '@mui/icons-material/LabelOutlined';
import { ApiError, errorMessage } from '@/api/client';
import { useCreateProject, useProjects } from '@/api/queries';
import type { Project } from '@/api/types';
import { EmptyState } from '@/components/EmptyState';
import { ErrorState } from '@/components/ErrorState';
import { formatRelative } from '@/components/format';
import { SkeletonRows } from '@/components/LoadingState';
import { PageHeader } from '@/components/PageHeader';

export function CreateProjectDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const create = useCreateProject();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) {
      setNameError('Give the project a name.');
      return;
    }
    setNameError(null);
    try {
      const p = await create.mutateAsync({ name: name.trim(), description: description.trim() || undefined });
      setName('');
      setDescription('');
      onClose();
      navigate(`/projects/${p.id}`);
    } catch (err) {
      const fe = err instanceof ApiError ? err.fieldErrors().find((f) => f.field === 'name') : undefined;
      if (fe) setNameError(fe.message);
      else if (err instanceof ApiError && err.status === 409) setNameError('A project with this name already exists.');
    }
  };

  return (
    <Dialog open={open} onClose={onClose} maxWidth="sm" fullWidth>
      <Box component="form" onSubmit={submit} noValidate>
        <DialogTitle>New project</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ mt: 1 }}>
            {create.isError && !nameError && <Alert severity="error">{errorMessage(create.error)}</Alert>}
            <TextField label="Name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={!!nameError} helperText={nameError ?? 'For example “Parking lot cameras”.'} autoFocus fullWidth />
            <TextField label="Description" name="description" value={description} onChange={(e) => setDescription(e.target.value)} multiline minRows={2} helperText="Optional: what the images show and what to label." fullWidth />
          </Stack>
        </DialogContent>
        <DialogActions sx={{ px: 3, pb: 2 }}>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create project'}
          </Button>
        </DialogActions>
      </Box>
    </Dialog>
  );
}

function ProjectCard({ project }: { project: Project }) {
  return (
    <Card sx={{ height: '100%' }}>
      <CardActionArea component={RouterLink} to={`/projects/${project.id}`} sx={{ height: '100%', display: 'flex', flexDirection: 'column', alignItems: 'stretch', justifyContent: 'flex-start' }}>
        <CardContent sx={{ height: '100%', display: 'flex', flexDirection: 'column' }}>
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1 }}>
            <FolderIcon color="primary" />
            <Typography variant="h6" noWrap sx={{ flex: 1 }}>
              {project.name}
            </Typography>
            {project.role && project.role !== 'owner' && <Chip size="small" label={project.role} />}
          </Stack>
          <Typography color="text.secondary" variant="body2" sx={{ flex: 1, display: '-webkit-box', WebkitLineClamp: 2, WebkitBoxOrient: 'vertical', overflow: 'hidden', minHeight: 40 }}>
            {project.description || 'No description.'}
          </Typography>
          <Stack direction="row" spacing={2} sx={{ mt: 2, color: 'text.secondary', alignItems: 'center' }}>
            <Stack direction="row" spacing={0.5} sx={{ alignItems: 'center' }}>
              <ImageIcon fontSize="small" />
              <Typography variant="body2">{project.image_count ?? '–'} images</Typography>
            </Stack>
            <Stack direction="row" spacing={0.5} sx={{ alignItems: 'center' }}>
              <LabelIcon fontSize="small" />
              <Typography variant="body2">{project.annotation_count ?? '–'} labels</Typography>
            </Stack>
            <Box sx={{ flex: 1 }} />
            <Typography variant="caption">{formatRelative(project.updated_at ?? project.created_at)}</Typography>
          </Stack>
        </CardContent>
      </CardActionArea>
    </Card>
  );
}

export function ProjectsPage() {
  const projects = useProjects();
  const [creating, setCreating] = useState(false);
  const list = projects.data ?? [];
  return (
    <>
      <PageHeader
        title="Projects"
        subtitle="Collections of images and their annotations, the data your models learn from."
        actions={
          <Button variant="contained" startIcon={<AddIcon />} onClick={() => setCreating(true)}>
            New project
          </Button>
        }
      />
      {projects.isPending ? (
        <SkeletonRows rows={3} height={120} />
      ) : projects.isError ? (
        <ErrorState error={projects.error} title="Could not load your projects" onRetry={() => projects.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState
          icon={<FolderIcon />}
          title="No projects yet"
          description="Create a project, upload images and start labelling. When you have a few dozen labelled images you can train your first model."
          action={
            <Button variant="contained" startIcon={<AddIcon />} onClick={() => setCreating(true)}>
              Create your first project
            </Button>
          }
        />
      ) : (
        <Grid container spacing={2}>
          {list.map((p) => (
            <Grid key={p.id} size={{ xs: 12, sm: 6, lg: 4 }}>
              <ProjectCard project={p} />
            </Grid>
          ))}
        </Grid>
      )}
      <CreateProjectDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}
