// `useTrainingWebSocket(jobId)`: follows a training job live. It subscribes through the shared
// socket module, applies each event to the `['jobs', id, 'metrics']` query with the pure
// reducer in `jobEvents.ts`, resumes with `?since=<lastSeq>` after a drop or a gap, and stops
// reconnecting once the job has finished. Charts read only that query.

import { useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { wsUrl } from '@/config';
import { getToken } from '@/api/session';
import { keys } from '@/api/queries';
import * as ep from '@/api/endpoints';
import { isTerminalStatus, type TrainingJob } from '@/api/types';
import { reconnectNow, subscribe, type ConnectionStatus } from './socket';
import { acceptGap, applyEvent, hasGap, initialLiveState, parseJobEvent, withHistory, withJob, type LiveJobState } from './jobEvents';

export const jobStreamKey = (jobId: number) => `training-job:${jobId}`;

/** Close code the host uses for a bad token or a job the user may not see. */
const POLICY_VIOLATION = 1008;

function current(qc: QueryClient, jobId: number): LiveJobState {
  return qc.getQueryData<LiveJobState>(keys.jobMetrics(jobId)) ?? initialLiveState(jobId);
}

/** The URL for (re)connecting: resumes after the last event applied. */
export function trainingSocketUrl(jobId: number, lastSeq: number): string {
  return wsUrl(`/training/ws/${jobId}`, { token: getToken() ?? undefined, since: lastSeq > 0 ? lastSeq : undefined });
}

export interface TrainingStream {
  state: LiveJobState;
  connection: ConnectionStatus;
}

export function useTrainingWebSocket(jobId: number, job?: TrainingJob | null, enabled = true): TrainingStream {
  const qc = useQueryClient();
  const [connection, setConnection] = useState<ConnectionStatus>('connecting');
  const { data } = useQuery({
    queryKey: keys.jobMetrics(jobId),
    queryFn: () => current(qc, jobId),
    initialData: () => current(qc, jobId),
    staleTime: Infinity,
    gcTime: 10 * 60_000,
  });

  // Fold the REST record in whenever it changes (status, counters, final metrics).
  useEffect(() => {
    if (job) qc.setQueryData<LiveJobState>(keys.jobMetrics(jobId), (s) => withJob(s ?? initialLiveState(jobId), job));
  }, [qc, jobId, job]);

  const resync = useRef<'idle' | 'requested' | 'fresh'>('idle');

  useEffect(() => {
    if (!enabled || !Number.isFinite(jobId)) return;
    const key = jobStreamKey(jobId);
    const write = (fn: (s: LiveJobState) => LiveJobState) =>
      qc.setQueryData<LiveJobState>(keys.jobMetrics(jobId), (s) => fn(s ?? initialLiveState(jobId)));

    const fillFromHistory = () => {
      ep.jobs
        .metrics(jobId)
        .then((rows) => write((s) => withHistory(s, rows)))
        .catch(() => {
          // The stored history is a best-effort filler; the live stream stays authoritative.
        });
    };

    const unsubscribe = subscribe(
      {
        key,
        url: () => trainingSocketUrl(jobId, current(qc, jobId).lastSeq),
        shouldReconnect: (ev) => {
          // 1008: the host refused the token or the job; retrying cannot help.
          if (ev.code === POLICY_VIOLATION) return false;
          const st = current(qc, jobId).status;
          return !(st && isTerminalStatus(st));
        },
      },
      {
        onStatus: (st) => {
          setConnection(st);
          if (st === 'open' && resync.current === 'requested') resync.current = 'fresh';
          // A failed reconnect may mean the token expired: the REST call finds out (401 → sign-in)
          // and refreshes the job meanwhile.
          if (st === 'reconnecting' || st === 'closed') qc.invalidateQueries({ queryKey: keys.job(jobId), exact: true });
        },
        onMessage: (raw) => {
          const ev = parseJobEvent(raw);
          if (!ev) return;
          const before = current(qc, jobId);
          let next = applyEvent(before, ev);
          // Only an event that jumps past what we have opens a gap; events filling one do not.
          const ahead = typeof ev.seq === 'number' && ev.seq > before.lastSeq + 1;
          if (resync.current === 'fresh' && typeof ev.seq === 'number') {
            resync.current = 'idle';
            if (ahead) {
              // We asked for everything after lastSeq and the server still skips: it no
              // longer has those events. Take what it has and fill epochs from the REST rows.
              while (hasGap(next)) next = acceptGap(next);
              fillFromHistory();
            }
          } else if (ahead && hasGap(next) && resync.current === 'idle') {
            resync.current = 'requested';
            qc.setQueryData(keys.jobMetrics(jobId), next);
            reconnectNow(key);
            return;
          }
          qc.setQueryData(keys.jobMetrics(jobId), next);
          if (before.status !== next.status && next.status && isTerminalStatus(next.status)) {
            qc.invalidateQueries({ queryKey: keys.job(jobId), exact: true });
            qc.invalidateQueries({ queryKey: keys.jobLists });
            qc.invalidateQueries({ queryKey: keys.modelLists });
          }
        },
      },
    );
    return unsubscribe;
  }, [qc, jobId, enabled]);

  return { state: data ?? initialLiveState(jobId), connection };
}
