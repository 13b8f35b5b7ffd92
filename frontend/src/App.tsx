// Routes. Everything but sign-in and registration sits inside the app shell and needs a
// signed-in user; plugins need an admin.

import { lazy, Suspense, type ReactNode } from 'react';
import { Link as RouterLink, Navigate, Route, Routes } from 'react-router-dom';
import { Button } from '@mui/material';
import { AppShell } from '@/layout/AppShell';
import { EmptyState } from '@/components/EmptyState';
import { LoadingState } from '@/components/LoadingState';
import { RequireAdmin, RequireAuth } from '@/features/auth/RequireAuth';
import { SignInPage } from '@/features/auth/SignInPage';

// Pages load on first visit, so signing in does not wait for the charts and the canvas.
const named = <K extends string>(load: () => Promise<Record<K, React.ComponentType>>, name: K) => lazy(() => load().then((m) => ({ default: m[name] })));
const ProjectsPage = named(() => import('@/features/projects/ProjectsPage'), 'ProjectsPage');
const ProjectPage = named(() => import('@/features/projects/ProjectPage'), 'ProjectPage');
const AnnotatePage = named(() => import('@/features/annotate/AnnotatePage'), 'AnnotatePage');
const WizardPage = named(() => import('@/features/training/WizardPage'), 'WizardPage');
const JobsPage = named(() => import('@/features/training/JobsPage'), 'JobsPage');
const JobMonitorPage = named(() => import('@/features/training/JobMonitorPage'), 'JobMonitorPage');
const ModelsPage = named(() => import('@/features/models/ModelsPage'), 'ModelsPage');
const ModelDetailPage = named(() => import('@/features/models/ModelDetailPage'), 'ModelDetailPage');
const CompareModelsPage = named(() => import('@/features/models/CompareModelsPage'), 'CompareModelsPage');
const PluginsPage = named(() => import('@/features/plugins/PluginsPage'), 'PluginsPage');

const page = (el: ReactNode) => <Suspense fallback={<LoadingState />}>{el}</Suspense>;

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
        <Route path="/projects" element={page(<ProjectsPage />)} />
        <Route path="/projects/:projectId" element={page(<ProjectPage />)} />
        <Route path="/projects/:projectId/annotate/:imageId" element={page(<AnnotatePage />)} />
        <Route path="/training/new" element={page(<WizardPage />)} />
        <Route path="/jobs" element={page(<JobsPage />)} />
        <Route path="/jobs/:jobId" element={page(<JobMonitorPage />)} />
        <Route path="/models" element={page(<ModelsPage />)} />
        <Route path="/models/compare" element={page(<CompareModelsPage />)} />
        <Route path="/models/:modelId" element={page(<ModelDetailPage />)} />
        <Route
          path="/plugins"
          element={
            <RequireAdmin>
              {page(<PluginsPage />)}
            </RequireAdmin>
          }
        />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
