// TanStack Query hooks over `endpoints.ts`: the cache keys live here so that mutations
// invalidate exactly what they change, and the WebSocket writes into the same keys.

import { keepPreviousData, QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError } from './client';
import * as ep from './endpoints';
import { isTerminalStatus, type AnnotationCreate, type AnnotationPatch, type JobConfig, type JobStatus, type ModelPatch, type PluginKind, type ProjectCreate } from './types';

export const keys = {
  me: ['me'] as const,
  projects: ['projects'] as const,
  project: (id: number) => ['projects', id] as const,
  members: (id: number) => ['projects', id, 'members'] as const,
  projectAnnotations: (id: number) => ['projects', id, 'annotations'] as const,
  images: (projectId: number, page: number, perPage: number) => ['projects', projectId, 'images', page, perPage] as const,
  imagesOf: (projectId: number) => ['projects', projectId, 'images'] as const,
  imageClassLabels: (projectId: number) => ['projects', projectId, 'images', 'class-labels'] as const,
  image: (id: number) => ['images', id] as const,
  imageAnnotations: (id: number) => ['images', id, 'annotations'] as const,
  plugins: ['plugins'] as const,
  jobs: (status?: JobStatus) => ['jobs', 'list', status ?? 'all'] as const,
  jobLists: ['jobs', 'list'] as const,
  job: (id: number) => ['jobs', id] as const,
  /** The live metrics state the WebSocket maintains (see `ws/jobEvents.ts`). */
  jobMetrics: (id: number) => ['jobs', id, 'metrics'] as const,
  models: (activeOnly?: boolean) => ['models', 'list', activeOnly ? 'active' : 'all'] as const,
  modelLists: ['models', 'list'] as const,
  model: (id: number) => ['models', id] as const,
};

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        // Retrying a 4xx only repeats the same answer; retry network and server errors once.
        retry: (count, err) => count < 1 && !(err instanceof ApiError && err.status >= 400 && err.status < 500),
      },
    },
  });
}

// --- auth --------------------------------------------------------------------------------

export const useMe = (enabled: boolean) => useQuery({ queryKey: keys.me, queryFn: ep.auth.me, enabled, staleTime: 60_000 });

// --- projects ----------------------------------------------------------------------------

export const useProjects = () => useQuery({ queryKey: keys.projects, queryFn: ep.projects.list });
export const useProject = (id: number) => useQuery({ queryKey: keys.project(id), queryFn: () => ep.projects.get(id) });
export const useMembers = (id: number, enabled = true) =>
  useQuery({ queryKey: keys.members(id), queryFn: () => ep.projects.members(id), enabled });
export const useProjectAnnotations = (id: number, enabled = true) =>
  useQuery({ queryKey: keys.projectAnnotations(id), queryFn: () => ep.projects.annotations(id), enabled });

export function useCreateProject() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (p: ProjectCreate) => ep.projects.create(p),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.projects }),
  });
}

export function useUpdateProject(id: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (p: Partial<ProjectCreate>) => ep.projects.update(id, p),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.projects }),
  });
}

export function useDeleteProject() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => ep.projects.remove(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.projects }),
  });
}

export function useAddMember(projectId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (m: { email: string; role: 'owner' | 'editor' | 'viewer' }) => ep.projects.addMember(projectId, m),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.members(projectId) }),
  });
}

export function useRemoveMember(projectId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (userId: number) => ep.projects.removeMember(projectId, userId),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.members(projectId) }),
  });
}

// --- images ------------------------------------------------------------------------------

export const useImages = (projectId: number, page: number, perPage: number, enabled = true) =>
  useQuery({
    queryKey: keys.images(projectId, page, perPage),
    queryFn: () => ep.images.page(projectId, page, perPage),
    placeholderData: keepPreviousData,
    enabled,
  });

/** Image-level classes used in a project (one entry per image that has one). */
export const useImageClassLabels = (projectId: number, enabled = true) =>
  useQuery({ queryKey: keys.imageClassLabels(projectId), queryFn: () => ep.images.classLabels(projectId), enabled, staleTime: 30_000 });

export const useImage = (id: number) => useQuery({ queryKey: keys.image(id), queryFn: () => ep.images.get(id) });

export function useSetImageClass(imageId: number, projectId: number | undefined) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (label: string | null) => ep.images.setClass(imageId, label),
    onSuccess: (img) => {
      qc.setQueryData(keys.image(imageId), img);
      if (projectId) qc.invalidateQueries({ queryKey: keys.imagesOf(projectId) });
    },
  });
}

export function useDeleteImage(projectId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => ep.images.remove(id),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: keys.imagesOf(projectId) });
      qc.invalidateQueries({ queryKey: keys.project(projectId) });
    },
  });
}

// --- annotations -------------------------------------------------------------------------

export const useImageAnnotations = (imageId: number) =>
  useQuery({ queryKey: keys.imageAnnotations(imageId), queryFn: () => ep.annotations.forImage(imageId) });

/** Invalidates what an annotation change affects: the image's list and its project's counts. */
function annotationsChanged(qc: QueryClient, imageId: number, projectId?: number) {
  qc.invalidateQueries({ queryKey: keys.imageAnnotations(imageId) });
  if (projectId) {
    qc.invalidateQueries({ queryKey: keys.imagesOf(projectId) });
    qc.invalidateQueries({ queryKey: keys.projectAnnotations(projectId) });
  }
}

export function useAnnotationMutations(imageId: number, projectId?: number) {
  const qc = useQueryClient();
  const done = () => annotationsChanged(qc, imageId, projectId);
  const create = useMutation({ mutationFn: (a: AnnotationCreate) => ep.annotations.create(imageId, a), onSettled: done });
  const update = useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: AnnotationPatch }) => ep.annotations.update(id, patch),
    onSettled: done,
  });
  const remove = useMutation({ mutationFn: (id: number) => ep.annotations.remove(id), onSettled: done });
  return { create, update, remove };
}

// --- plugins -----------------------------------------------------------------------------

export const usePlugins = (enabled = true) => useQuery({ queryKey: keys.plugins, queryFn: ep.plugins.list, enabled });

export function useSetDefaultPlugin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ kind, id }: { kind: PluginKind; id: number }) => ep.plugins.setDefault(kind, id),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.plugins }),
  });
}

export function useEnablePlugin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, enabled }: { id: number; enabled: boolean }) => ep.plugins.setEnabled(id, enabled),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.plugins }),
  });
}

export function useDeletePlugin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => ep.plugins.remove(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.plugins }),
  });
}

// --- jobs --------------------------------------------------------------------------------

/** Jobs, refreshed every few seconds while any of them is still running. */
export const useJobs = (status?: JobStatus, enabled = true) =>
  useQuery({
    enabled,
    queryKey: keys.jobs(status),
    queryFn: () => ep.jobs.list(status),
    refetchInterval: (q) => (q.state.data?.some((j) => !isTerminalStatus(j.status)) ? 4000 : false),
  });

export const useJob = (id: number) => useQuery({ queryKey: keys.job(id), queryFn: () => ep.jobs.get(id) });

export function useCreateJob() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (c: JobConfig) => ep.jobs.create(c),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.jobLists }),
  });
}

export function useCancelJob() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => ep.jobs.cancel(id),
    onSuccess: (_r, id) => {
      qc.invalidateQueries({ queryKey: keys.jobLists });
      qc.invalidateQueries({ queryKey: keys.job(id), exact: true });
    },
  });
}

// --- models ------------------------------------------------------------------------------

export const useModels = (activeOnly?: boolean, enabled = true) =>
  useQuery({ queryKey: keys.models(activeOnly), queryFn: () => ep.models.list(activeOnly), enabled });

export const useModel = (id: number) => useQuery({ queryKey: keys.model(id), queryFn: () => ep.models.get(id) });

export function useUpdateModel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: ModelPatch }) => ep.models.update(id, patch),
    onSuccess: (m) => {
      qc.setQueryData(keys.model(m.id), m);
      qc.invalidateQueries({ queryKey: keys.modelLists });
    },
  });
}

export function useDeleteModel() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => ep.models.remove(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.modelLists }),
  });
}
