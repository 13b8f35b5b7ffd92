// One project: its images (upload, import, export, annotate), members and settings.

import { useState } from 'react';
import { Link as RouterLink, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import {
  Box,
  Button,
  Card,
  CardContent,
  CardHeader,
  Menu,
  MenuItem,
  ListItemIcon,
  ListItemText,
  Stack,
  Tab,
  Tabs,
  TextField,
  Typography,
} from '@mui/material';
import UploadIcon from '@mui/icons-material/CloudUploadOutlined';
import MoreIcon from '@mui/icons-material/ExpandMore';
import BrushIcon from '@mui/icons-material/BrushOutlined';
import SchoolIcon from '@mui/icons-material/AutoAwesomeOutlined';
import DownloadIcon from '@mui/icons-material/FileDownloadOutlined';
import ImportIcon from '@mui/icons-material/UnarchiveOutlined';
import SmartIcon from '@mui/icons-material/SmartToyOutlined';
import { useHasRoute } from '@/api/capabilities';
import { errorMessage } from '@/api/client';
import * as ep from '@/api/endpoints';
import { useDeleteProject, useImages, useProject, useUpdateProject } from '@/api/queries';
import { ConfirmDialog } from '@/components/ConfirmDialog';
import { saveBlob } from '@/components/download';
import { ErrorState } from '@/components/ErrorState';
import { LoadingState } from '@/components/LoadingState';
import { useNotify } from '@/components/notify';
import { PageHeader } from '@/components/PageHeader';
import { plural } from '@/components/format';
import { useAuth } from '@/features/auth/AuthProvider';
import { PrelabelDialog } from '@/features/models/PrelabelDialog';
import { ImageGrid } from './ImageGrid';
import { ImportDialog } from './ImportDialog';
import { MembersPanel } from './MembersPanel';
import { UploadDialog } from './UploadDialog';

function SettingsPanel({ projectId, name, description, canManage }: { projectId: number; name: string; description: string; canManage: boolean }) {
  const update = useUpdateProject(projectId);
  const remove = useDeleteProject();
  const notify = useNotify();
  const navigate = useNavigate();
  const [n, setN] = useState(name);
  const [d, setD] = useState(description);
  const [confirm, setConfirm] = useState(false);
  return (
    <Stack spacing={2}>
      <Card>
        <CardHeader title="Details" />
        <CardContent>
          <Stack spacing={2} sx={{ maxWidth: 560 }}>
            <TextField label="Name" value={n} onChange={(e) => setN(e.target.value)} disabled={!canManage} error={!n.trim()} helperText={!n.trim() ? 'The name cannot be empty.' : ' '} />
            <TextField label="Description" value={d} onChange={(e) => setD(e.target.value)} multiline minRows={2} disabled={!canManage} />
            {canManage && (
              <Box>
                <Button
                  variant="contained"
                  disabled={!n.trim() || update.isPending || (n === name && d === description)}
                  onClick={() => update.mutate({ name: n.trim(), description: d }, { onSuccess: () => notify('Project saved'), onError: (e) => notify(errorMessage(e), 'error') })}
                >
                  Save changes
                </Button>
              </Box>
            )}
          </Stack>
        </CardContent>
      </Card>
      {canManage && (
        <Card sx={{ borderColor: 'error.light' }}>
          <CardHeader title="Delete project" subheader="Deletes the project, its images and annotations. Trained models are kept." />
          <CardContent>
            <Button color="error" variant="outlined" onClick={() => setConfirm(true)}>
              Delete this project
            </Button>
          </CardContent>
        </Card>
      )}
      <ConfirmDialog
        open={confirm}
        title={`Delete “${name}”?`}
        body="All images and annotations in this project will be deleted. This cannot be undone."
        busy={remove.isPending}
        onClose={() => setConfirm(false)}
        onConfirm={() =>
          remove.mutate(projectId, {
            onSuccess: () => {
              notify(`Deleted ${name}`);
              navigate('/projects');
            },
            onError: (e) => notify(errorMessage(e), 'error'),
          })
        }
      />
    </Stack>
  );
}

export function ProjectPage() {
  const projectId = Number(useParams().projectId);
  const project = useProject(projectId);
  const firstImage = useImages(projectId, 1, 1);
  const { user, isAdmin } = useAuth();
  const notify = useNotify();
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') ?? 'images';
  const [uploading, setUploading] = useState(false);
  const [importing, setImporting] = useState(false);
  const [prelabel, setPrelabel] = useState(false);
  const [menu, setMenu] = useState<HTMLElement | null>(null);
  const canPrelabel = useHasRoute('/api/v1/projects/{id}/prelabel') === true;

  if (project.isPending) return <LoadingState label="Loading project…" />;
  if (project.isError) return <ErrorState error={project.error} title="Could not open this project" onRetry={() => project.refetch()} />;
  const p = project.data;
  const role = p.role ?? (isAdmin ? 'owner' : 'editor');
  const canEdit = role !== 'viewer';
  const canManage = role === 'owner' || isAdmin;
  const first = firstImage.data?.items[0];

  const exportCoco = async () => {
    setMenu(null);
    try {
      const { blob, filename } = await ep.projects.exportCoco(projectId);
      saveBlob(blob, filename ?? `${p.name.replace(/[^\w.-]+/g, '_')}-coco.json`);
      notify('Export downloaded');
    } catch (e) {
      notify(errorMessage(e), 'error');
    }
  };

  return (
    <>
      <PageHeader
        crumbs={[{ label: 'Projects', to: '/projects' }, { label: p.name }]}
        title={p.name}
        subtitle={
          <>
            {p.description ? `${p.description} · ` : ''}
            {p.image_count !== undefined && plural(p.image_count, 'image')}
            {p.annotation_count !== undefined && ` · ${plural(p.annotation_count, 'annotation')}`}
            {user && p.role && p.role !== 'owner' && ` · you are ${p.role === 'editor' ? 'an editor' : 'a viewer'}`}
          </>
        }
        actions={
          <>
            {first && (
              <Button variant="outlined" startIcon={<BrushIcon />} component={RouterLink} to={`/projects/${projectId}/annotate/${first.id}`}>
                Annotate
              </Button>
            )}
            <Button variant="outlined" startIcon={<SchoolIcon />} component={RouterLink} to={`/training/new?project=${projectId}`}>
              Train a model
            </Button>
            {canEdit && (
              <Button variant="contained" startIcon={<UploadIcon />} onClick={() => setUploading(true)}>
                Upload images
              </Button>
            )}
            <Button variant="outlined" endIcon={<MoreIcon />} onClick={(e) => setMenu(e.currentTarget)} aria-haspopup="menu">
              More
            </Button>
            <Menu anchorEl={menu} open={!!menu} onClose={() => setMenu(null)}>
              {canEdit && (
                <MenuItem onClick={() => { setMenu(null); setImporting(true); }}>
                  <ListItemIcon><ImportIcon fontSize="small" /></ListItemIcon>
                  <ListItemText primary="Import dataset…" secondary="COCO, YOLO or ImageFolder zip" />
                </MenuItem>
              )}
              <MenuItem onClick={exportCoco}>
                <ListItemIcon><DownloadIcon fontSize="small" /></ListItemIcon>
                <ListItemText primary="Export as COCO" secondary="Annotations JSON" />
              </MenuItem>
              {canEdit && canPrelabel && (
                <MenuItem onClick={() => { setMenu(null); setPrelabel(true); }}>
                  <ListItemIcon><SmartIcon fontSize="small" /></ListItemIcon>
                  <ListItemText primary="Pre-label with a model…" secondary="Predictions become annotations" />
                </MenuItem>
              )}
            </Menu>
          </>
        }
      />
      <Tabs value={tab} onChange={(_, v) => setParams(v === 'images' ? {} : { tab: v }, { replace: true })} sx={{ mb: 2, borderBottom: 1, borderColor: 'divider' }}>
        <Tab value="images" label="Images" />
        <Tab value="members" label="Members" />
        <Tab value="settings" label="Settings" />
      </Tabs>
      {tab === 'images' && <ImageGrid projectId={projectId} canEdit={canEdit} onUpload={() => setUploading(true)} />}
      {tab === 'members' && <MembersPanel projectId={projectId} canManage={canManage} />}
      {tab === 'settings' && <SettingsPanel key={p.id + p.name} projectId={projectId} name={p.name} description={p.description ?? ''} canManage={canManage} />}
      {tab !== 'images' && tab !== 'members' && tab !== 'settings' && <Typography>Unknown tab.</Typography>}
      <UploadDialog projectId={projectId} open={uploading} onClose={() => setUploading(false)} />
      <ImportDialog projectId={projectId} open={importing} onClose={() => setImporting(false)} />
      {canPrelabel && <PrelabelDialog open={prelabel} onClose={() => setPrelabel(false)} projectId={projectId} />}
    </>
  );
}
