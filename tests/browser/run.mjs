#!/usr/bin/env node
// End-to-end browser tests: the real host (`annotateforge serve`, SQLite in a temp data dir,
// serving `frontend/dist`) driven through headless Chromium (Debian's /usr/bin/chromium via
// playwright-core) like a user would: sign up, create a project, upload images, draw a box,
// run the training wizard, watch the monitor's charts update live until the job completes,
// predict with the new model and accept a prediction. Screenshots of the main pages go to
// tests/browser/artifacts/ (look at them).
//
// Every step runs, or the run fails (lib/outcome.mjs has the policy and its tests): a step
// whose API routes the server's OpenAPI document does not list fails, a training job that no
// worker picks up fails, and so does a step after a failed one. Only AF_E2E_ONLY leaves steps
// out, for running a subset by hand (scripts/test.sh always runs them all).
//
//   node tests/browser/run.mjs            # all steps
//   AF_E2E_ONLY=sign-up,create-project node tests/browser/run.mjs
//   AF_E2E_HEADFUL=1 …                    # watch it (needs a display)

import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCode, norm, precheck, selectSteps } from './lib/outcome.mjs';
import { startServer } from './lib/server.mjs';
import { steps } from './steps.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const frontendDir = join(root, 'frontend', 'dist');
const artifacts = join(here, 'artifacts');
// playwright-core is a dev dependency of the front end; resolve it from there.
const require = createRequire(join(root, 'frontend', 'package.json'));
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.AF_CHROMIUM ?? '/usr/bin/chromium';
const only = process.env.AF_E2E_ONLY ? new Set(process.env.AF_E2E_ONLY.split(',').map((s) => s.trim()).filter(Boolean)) : null;

const c = { green: (s) => `\x1b[32m${s}\x1b[0m`, red: (s) => `\x1b[31m${s}\x1b[0m`, dim: (s) => `\x1b[2m${s}\x1b[0m` };

async function main() {
  const selected = selectSteps(steps, only);
  if (only) console.log(c.dim(`AF_E2E_ONLY: running ${selected.length} of ${steps.length} steps`));
  if (!existsSync(join(frontendDir, 'index.html'))) throw new Error('frontend/dist is missing: run `cd frontend && npm run build` first');
  mkdirSync(artifacts, { recursive: true });
  // Only this run's screenshots.
  for (const f of readdirSync(artifacts)) if (/\.(png|log|json)$/.test(f)) rmSync(join(artifacts, f));
  const server = await startServer({ root, frontendDir, logFile: join(artifacts, 'server.log') });
  console.log(c.dim(`host ${server.bin} on ${server.base}, data in ${server.dataDir}`));
  let browser;
  const userDataDir = mkdtempSync(join(tmpdir(), 'af-e2e-chromium-'));
  const results = [];
  try {
    const doc = await (await fetch(`${server.base}/api/v1/openapi.json`)).json();
    const routes = new Set(Object.keys(doc.paths ?? {}).map(norm));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: process.env.AF_E2E_HEADFUL !== '1',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1366, height: 768 },
      baseURL: server.base,
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(`console: ${m.text()}`));
    // The last API answers, printed when a step fails.
    const recent = [];
    page.on('response', (r) => {
      if (!r.url().includes('/api/')) return;
      recent.push(`${r.request().method()} ${r.url().replace(server.base, '')} → ${r.status()}`);
      if (recent.length > 15) recent.shift();
    });

    const ctx = { page, base: server.base, artifacts, state: {}, shots: [], consoleErrors, log: (m) => console.log(c.dim(`    ${m}`)) };
    ctx.shot = async (name) => {
      const file = join(artifacts, `${String(ctx.shots.length + 1).padStart(2, '0')}-${name}.png`);
      // Transitions (a dialog fading out, a label moving) are fast-forwarded to their end so
      // the picture shows the page as it settles, not a frame in between.
      await page.screenshot({ path: file, fullPage: false, animations: 'disabled', caret: 'hide' });
      ctx.shots.push(file);
    };
    const done = new Set();
    for (const step of selected) {
      const t0 = Date.now();
      const pre = precheck(step, routes, done, only);
      if (!pre.run) {
        results.push({ name: step.name, status: pre.status, why: pre.why });
        console.log(`${c.red('FAIL')} ${step.name} ${c.dim(`(${pre.why})`)}`);
        continue;
      }
      try {
        await step.run(ctx);
        done.add(step.name);
        results.push({ name: step.name, status: 'passed', ms: Date.now() - t0 });
        console.log(`${c.green('PASS')} ${step.name} ${c.dim(`${((Date.now() - t0) / 1000).toFixed(1)} s`)}`);
      } catch (e) {
        results.push({ name: step.name, status: 'failed', why: e?.stack ?? String(e) });
        console.log(`${c.red('FAIL')} ${step.name}\n${String(e?.stack ?? e).split('\n').slice(0, 8).map((l) => '     ' + l).join('\n')}`);
        console.log(c.dim(`     at ${page.url()}; last API calls:\n       ${recent.join('\n       ')}`));
        await ctx.shot(`FAILED-${step.name}`).catch(() => {});
      }
    }
    if (consoleErrors.length) console.log(c.dim(`browser console errors:\n  ${consoleErrors.slice(0, 20).join('\n  ')}`));
  } finally {
    await browser?.close().catch(() => {});
    await server.stop();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  writeFileSync(join(artifacts, 'results.json'), JSON.stringify(results, null, 2));
  const failed = results.filter((r) => r.status !== 'passed');
  const passed = results.filter((r) => r.status === 'passed');
  const left = steps.length - selected.length;
  console.log(`\n${passed.length} passed, ${failed.length} failed${left ? `, ${left} not selected (AF_E2E_ONLY)` : ''}; screenshots in ${artifacts}`);
  if (exitCode(results)) process.exit(1);
}

main().catch((e) => {
  console.error(c.red(e?.stack ?? String(e)));
  process.exit(1);
});
