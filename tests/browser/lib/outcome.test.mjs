// `node --test tests/browser/lib/`: the browser runner's pass/fail policy (see outcome.mjs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitCode, norm, precheck, selectSteps } from './outcome.mjs';

const steps = [
  { name: 'sign-up', needs: ['/api/v1/auth/register'] },
  { name: 'wizard', needs: ['/api/v1/training/jobs'], after: ['sign-up'] },
  { name: 'monitor-live', needs: ['/api/v1/training/jobs/{id}'], after: ['wizard'] },
];
const routes = new Set(['/api/v1/auth/register', '/api/v1/training/jobs', '/api/v1/training/jobs/{job_id}'].map(norm));

test('a step whose route the server lacks fails, it is not skipped', () => {
  const r = precheck(steps[1], new Set(['/api/v1/auth/register']), new Set(['sign-up']), null);
  assert.equal(r.run, false);
  assert.equal(r.status, 'failed');
  assert.match(r.why, /\/api\/v1\/training\/jobs/);
});

test('a step after a failed one fails too', () => {
  const r = precheck(steps[2], routes, new Set(['sign-up']), null);
  assert.deepEqual([r.run, r.status], [false, 'failed']);
});

test('steps left out with AF_E2E_ONLY do not block the selected ones', () => {
  const only = new Set(['monitor-live']);
  assert.deepEqual(selectSteps(steps, only).map((s) => s.name), ['monitor-live']);
  assert.equal(precheck(steps[2], routes, new Set(), only).run, true);
  assert.throws(() => selectSteps(steps, new Set(['monitor-lve'])), /unknown steps: monitor-lve/);
});

test('the run passes only if something ran and everything that ran passed', () => {
  assert.equal(exitCode([]), 1);
  assert.equal(exitCode([{ status: 'passed' }, { status: 'passed' }]), 0);
  assert.equal(exitCode([{ status: 'passed' }, { status: 'failed' }]), 1);
  assert.equal(exitCode([{ status: 'passed' }, { status: 'skipped' }]), 1, 'a skip is not a pass');
});
