// What the runner does with each step, and whether the run passed. Pure functions, so the
// policy has tests of its own (outcome.test.mjs): a suite that can pass with the product
// broken is worse than none.
//
// The policy: every step runs, or the run fails. A step whose API routes the server's OpenAPI
// document does not list FAILS (the server lost a route, or the step names a wrong one); so
// does a step that cannot start because a step it builds on failed. The only steps that do
// not run without failing the run are those left out on purpose with AF_E2E_ONLY (running a
// subset by hand); an AF_E2E_ONLY that names no known step is an error, not an empty pass.

/** `/api/v1/projects/{project_id}/images` → `/api/v1/projects/{}/images`, to compare routes. */
export const norm = (p) => p.replace(/\{[^}]*\}/g, '{}');

/**
 * The steps selected by `only` (a Set of names, or null for all), in order. Throws on names
 * that are not steps (a typo would otherwise run nothing and pass).
 */
export function selectSteps(steps, only) {
  if (!only) return steps;
  const known = new Set(steps.map((s) => s.name));
  const unknown = [...only].filter((n) => !known.has(n));
  if (unknown.length) throw new Error(`AF_E2E_ONLY names unknown steps: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return steps.filter((s) => only.has(s.name));
}

/**
 * Whether a step can start: `{run: true}`, or `{run: false, status: 'failed', why}` when its
 * routes are missing or a step it builds on (and that was selected) did not pass.
 */
export function precheck(step, routes, passed, only) {
  const missing = (step.needs ?? []).filter((r) => !routes.has(norm(r)));
  if (missing.length) return { run: false, status: 'failed', why: `the server's OpenAPI document has no ${missing.join(', ')}` };
  const blocked = (step.after ?? []).filter((d) => (!only || only.has(d)) && !passed.has(d));
  if (blocked.length) return { run: false, status: 'failed', why: `cannot run: ${blocked.join(', ')} did not pass` };
  return { run: true };
}

/** The exit code of a run: 0 only if at least one step ran and every step that ran passed. */
export function exitCode(results) {
  if (results.length === 0) return 1;
  return results.every((r) => r.status === 'passed') ? 0 : 1;
}
