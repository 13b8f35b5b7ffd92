// Routes. Everything but sign-in and registration sits inside the app shell and needs a
// signed-in user; plugins need an admin.

import { Navigate, Route, Routes } from 'react-router-dom';
import { Button } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import { AppShell } from '@/layout/AppShell';
import { EmptyState } from '@/components/EmptyState';
import { RequireAdmin, RequireAuth } from '@/features/auth/RequireAuth';
import { SignInPage } from '@/features/auth/SignInPage';
import { ProjectsPage } from '@/features/projects/ProjectsPage';
import { ProjectPage } from '@/features/projects/ProjectPage';
import { AnnotatePage } from '@/features/annotate/AnnotatePage';
import { WizardPage } from '@/features/training/WizardPage';
import { JobsPage } from '@/features/training/JobsPage';
import { JobMonitorPage } from '@/features/training/JobMonitorPage';
import { ModelsPage } from '@/features/models/ModelsPage';
import { ModelDetailPage } from '@/features/models/ModelDetailPage';
import { CompareModelsPage } from '@/features/models/CompareModelsPage';
import { PluginsPage } from '@/features/plugins/PluginsPage';

function NotFound() {
  return (
    <EmptyState
      title="Page not found"
      description="The address may be mistyped, or the item was deleted."
      action={
        <Button variant="contained" component={RouterLink} to="/projects">
          Go to projects
        </Button>
      }
    />
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage mode="sign-in" />} />
      <Route path="/register" element={<SignInPage mode="register" />} />
      <Route
        element={
          <RequireAuth>
            <AppShell />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/projects" replace />} />
        <Route path="/projects" element={<ProjectsPage />} />
        <Route path="/projects/:projectId" element={<ProjectPage />} />
        <Route path="/projects/:projectId/annotate/:imageId" element={<AnnotatePage />} />
        <Route path="/training/new" element={<WizardPage />} />
        <Route path="/jobs" element={<JobsPage />} />
        <Route path="/jobs/:jobId" element={<JobMonitorPage />} />
        <Route path="/models" element={<ModelsPage />} />
        <Route path="/models/compare" element={<CompareModelsPage />} />
        <Route path="/models/:modelId" element={<ModelDetailPage />} />
        <Route
          path="/plugins"
          element={
            <RequireAdmin>
              <PluginsPage />
            </RequireAdmin>
          }
        />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
