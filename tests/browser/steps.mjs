// The end-to-end steps, in order. Each names the API routes it needs (`needs`, checked against
// the server's OpenAPI document) and the steps it builds on (`after`). `ctx.state` carries
// what earlier steps made (the token, the project, image ids, the job, the model).

import { squareImage } from './lib/png.mjs';
import { zip } from './lib/zip.mjs';

const EMAIL = 'e2e-admin@example.com';
const PASSWORD = 'correct horse battery';
const IMAGES = 8;
const TRAIN_TIMEOUT_MS = Number(process.env.AF_E2E_TRAIN_TIMEOUT_S ?? 900) * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Polls `fn` until it returns a truthy value or `ms` passes. */
async function until(fn, ms, what) {
  const t = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

/** A REST call as the signed-in user (the token the UI stored), for seeding and checking. */
async function api(ctx, method, path, body) {
  const token = await ctx.page.evaluate(() => localStorage.getItem('annotateforge.token'));
  const r = await fetch(`${ctx.base}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path} → ${r.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Screen coordinates of image pixel (x, y) on the annotation canvas. */
async function canvasPoint(page, image, x, y) {
  const m = await page.evaluate(() => {
    const box = document.querySelector('[data-testid="annotation-canvas"]');
    const img = box.querySelector('svg image, svg rect');
    const r = box.getBoundingClientRect();
    return { left: r.left, top: r.top, x: +img.getAttribute('x'), y: +img.getAttribute('y'), w: +img.getAttribute('width') };
  });
  const s = m.w / image.width;
  return [m.left + m.x + x * s, m.top + m.y + y * s];
}

async function drag(page, from, to) {
  await page.mouse.move(from[0], from[1]);
  await page.mouse.down();
  for (let i = 1; i <= 6; i++) await page.mouse.move(from[0] + ((to[0] - from[0]) * i) / 6, from[1] + ((to[1] - from[1]) * i) / 6);
  await page.mouse.up();
}

export const steps = [
  {
    name: 'sign-up',
    needs: ['/api/v1/auth/register', '/api/v1/auth/login', '/api/v1/auth/me'],
    async run(ctx) {
      const { page } = ctx;
      await page.goto('/');
      await page.waitForURL('**/sign-in');
      await ctx.shot('sign-in');
      await page.getByRole('link', { name: 'Create an account' }).click();
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Confirm password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.waitForURL('**/projects');
      await page.getByTestId('current-user').filter({ hasText: EMAIL }).waitFor();
      await page.getByText('No projects yet').waitFor();
      await ctx.shot('projects-empty');
    },
  },
  {
    name: 'sign-out-and-in',
    needs: ['/api/v1/auth/login'],
    after: ['sign-up'],
    async run(ctx) {
      const { page } = ctx;
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL('**/sign-in');
      await page.getByText('You have signed out.').waitFor();
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill('wrong password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('The email or password is not right.').waitFor();
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/projects');
      // Settled first: a call still in flight would meet the bad token below, end the session
      // before the reload, and leave the reload with no token (and so no message) at all.
      await page.getByText('No projects yet').waitFor();
      // An expired or revoked token sends the user back with a message.
      await page.evaluate(() => localStorage.setItem('annotateforge.token', 'not-a-valid-token'));
      await page.goto('/projects');
      await page.getByText('Your session has expired. Please sign in again.').waitFor();
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/projects');
    },
  },
  {
    name: 'create-project',
    needs: ['/api/v1/projects'],
    after: ['sign-up'],
    async run(ctx) {
      const { page } = ctx;
      await page.goto('/projects');
      await page.getByRole('button', { name: 'New project' }).first().click();
      await page.getByLabel('Name').fill('Red squares');
      await page.getByLabel('Description').fill('Synthetic images with one red square each');
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.waitForURL(/\/projects\/\d+$/);
      ctx.state.projectId = Number(page.url().split('/').pop());
      await page.getByText('No images in this project').waitFor();
      await ctx.shot('project-empty');
    },
  },
  {
    name: 'upload-images',
    needs: ['/api/v1/projects/{id}/images'],
    after: ['create-project'],
    async run(ctx) {
      const { page } = ctx;
      const files = [];
      ctx.state.boxes = {};
      for (let i = 0; i < IMAGES; i++) {
        const img = squareImage(1000 + i);
        files.push({ name: `square-${i}.png`, mimeType: 'image/png', buffer: img.png });
        ctx.state.boxes[`square-${i}.png`] = img;
      }
      files.push({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
      // Looks like an image by name, but the host cannot decode it: it refuses the request and
      // the dialog sends the rest again, reporting this file.
      files.push({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('\x89PNG garbage') });
      await page.getByRole('button', { name: 'Upload images' }).first().click();
      await page.getByTestId('upload-input').setInputFiles(files);
      await page.getByText('Not an image (use JPEG, PNG, BMP, WebP or TIFF).').waitFor();
      await page.getByRole('button', { name: `Upload ${IMAGES + 1} images` }).click();
      await page.getByText('Upload finished').waitFor({ timeout: 60_000 });
      await page.getByText(`${IMAGES} stored · 2 failed`).waitFor();
      const brokenReason = await page.getByTestId('upload-files').locator('li', { hasText: 'broken.png' }).locator('p').last().textContent();
      ctx.log(`broken.png: ${brokenReason}`);
      assert(brokenReason && !/Not an image/.test(brokenReason), 'the server’s reason for broken.png is shown');
      await ctx.shot('upload-finished');
      await page.getByRole('button', { name: 'Done' }).click();
      await until(async () => (await page.getByTestId('image-tile').count()) === IMAGES, 20_000, `${IMAGES} image tiles`);
      const listed = await api(ctx, 'GET', `/projects/${ctx.state.projectId}/images?page=1&per_page=100`);
      ctx.state.images = listed.items;
      assert(listed.total === IMAGES, `server lists ${listed.total} images`);
      // Thumbnails are real images, not broken ones.
      await until(async () => (await page.locator('[data-testid="image-tile"] img').count()) === IMAGES, 20_000, 'thumbnails');
      await ctx.shot('project-images');
    },
  },
  {
    name: 'draw-box',
    needs: ['/api/v1/images/{id}/annotations', '/api/v1/images/{id}'],
    after: ['upload-images'],
    async run(ctx) {
      const { page } = ctx;
      const image = ctx.state.images[0];
      const truth = ctx.state.boxes[image.filename].box;
      await page.locator(`[data-image-id="${image.id}"] a`).first().click();
      await page.waitForURL(`**/annotate/${image.id}`);
      await page.locator('[data-testid="annotation-canvas"] svg image').waitFor();
      await page.getByLabel('New class name').fill('square');
      await page.getByLabel('New class name').press('Enter');
      await page.locator('[data-class="square"]').waitFor();
      await page.getByTestId('annotation-canvas').click({ position: { x: 5, y: 5 } });
      await page.keyboard.press('b');
      await drag(page, await canvasPoint(page, image, truth.x1, truth.y1), await canvasPoint(page, image, truth.x2, truth.y2));
      await until(async () => (await page.getByTestId('shape-count').textContent()) === '1', 10_000, 'the box to be saved');
      const saved = await until(async () => {
        const list = await api(ctx, 'GET', `/images/${image.id}/annotations`);
        const items = Array.isArray(list) ? list : list.items;
        return items.length === 1 && items[0].id > 0 ? items : null;
      }, 10_000, 'the box on the server');
      assert(saved[0].type === 'box' && saved[0].class_label === 'square', `saved ${JSON.stringify(saved[0])}`);
      const xs = saved[0].data.corners.map((p) => p[0]);
      const ys = saved[0].data.corners.map((p) => p[1]);
      const err = Math.max(Math.abs(Math.min(...xs) - truth.x1), Math.abs(Math.max(...xs) - truth.x2), Math.abs(Math.min(...ys) - truth.y1), Math.abs(Math.max(...ys) - truth.y2));
      ctx.log(`drawn box within ${err.toFixed(2)} px of the square`);
      assert(err < 2.5, `the drawn box is ${err} px off the square`);
      await ctx.shot('annotate-box');
      // A polygon by clicks and Enter, then Esc, V, select it in the list and Del.
      await page.keyboard.press('p');
      for (const [x, y] of [[10, 10], [40, 12], [30, 40], [8, 30]]) {
        const [sx, sy] = await canvasPoint(page, image, x, y);
        await page.mouse.click(sx, sy);
      }
      await page.keyboard.press('Enter');
      await until(async () => (await page.getByTestId('shape-count').textContent()) === '2', 10_000, 'the polygon to be saved');
      await ctx.shot('annotate-polygon');
      await page.keyboard.press('v');
      await page.getByTestId('shape-list').getByText('Polygon').click();
      await page.keyboard.press('Delete');
      await until(async () => (await page.getByTestId('shape-count').textContent()) === '1', 10_000, 'the polygon to be deleted');
      await until(async () => (await api(ctx, 'GET', `/images/${image.id}/annotations`)).length === 1, 10_000, 'the polygon deleted on the server');
      // Ctrl+Z brings the polygon back; again undoes drawing it.
      await page.keyboard.press('Control+z');
      await until(async () => (await api(ctx, 'GET', `/images/${image.id}/annotations`)).length === 2, 10_000, 'undo to restore the polygon');
      await page.keyboard.press('Control+z');
      await until(async () => (await api(ctx, 'GET', `/images/${image.id}/annotations`)).length === 1, 10_000, 'undo to remove the drawn polygon');
      await until(async () => (await page.getByTestId('shape-count').textContent()) === '1', 10_000, 'one shape after undo');
      // Keyboard: next image, zoom, back.
      await page.keyboard.press('ArrowRight');
      await page.getByTestId('image-position').filter({ hasText: `2 / ${IMAGES}` }).waitFor();
      const z0 = await page.getByTestId('zoom-level').textContent();
      await page.keyboard.press('+');
      await until(async () => (await page.getByTestId('zoom-level').textContent()) !== z0, 5000, 'zoom to change');
      await page.keyboard.press('ArrowLeft');
      await page.getByTestId('image-position').filter({ hasText: `1 / ${IMAGES}` }).waitFor();
      await until(async () => (await page.getByTestId('shape-count').textContent()) === '1', 10_000, 'the saved box after navigating back');
    },
  },
  {
    name: 'label-the-rest',
    needs: ['/api/v1/images/{id}/annotations'],
    after: ['draw-box'],
    async run(ctx) {
      // Training needs every image labelled; the rest are seeded through the API (the UI path
      // was exercised by draw-box).
      for (const image of ctx.state.images.slice(1)) {
        const b = ctx.state.boxes[image.filename].box;
        await api(ctx, 'POST', `/images/${image.id}/annotations`, {
          type: 'box',
          class_label: 'square',
          data: { corners: [[b.x1, b.y1], [b.x2, b.y1], [b.x2, b.y2], [b.x1, b.y2]] },
        });
      }
      await ctx.page.goto(`/projects/${ctx.state.projectId}`);
      await until(async () => (await ctx.page.getByTestId('annotation-count').filter({ hasText: '1 annotation' }).count()) === IMAGES, 20_000, 'every tile to show 1 annotation');
    },
  },
  {
    name: 'export-coco',
    needs: ['/api/v1/projects/{id}/export'],
    after: ['label-the-rest'],
    async run(ctx) {
      const { page } = ctx;
      await page.goto(`/projects/${ctx.state.projectId}`);
      await page.getByRole('button', { name: 'More' }).click();
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: /Export as COCO/ }).click()]);
      const path = await download.path();
      const { readFileSync } = await import('node:fs');
      const coco = JSON.parse(readFileSync(path, 'utf8'));
      assert(coco.images.length === IMAGES && coco.annotations.length === IMAGES, `COCO has ${coco.images.length} images and ${coco.annotations.length} annotations`);
      assert(coco.categories.some((c) => c.name === 'square'), 'COCO names the class');
      ctx.log(`downloaded ${download.suggestedFilename()}`);
    },
  },
  {
    name: 'import-imagefolder',
    needs: ['/api/v1/projects/{id}/import', '/api/v1/images/{id}'],
    after: ['sign-up'],
    async run(ctx) {
      const { page } = ctx;
      // A classification dataset: red and blue squares in ImageFolder layout.
      const entries = [];
      for (let i = 0; i < 4; i++) entries.push({ name: `train/red/r${i}.png`, data: squareImage(2000 + i).png });
      for (let i = 0; i < 4; i++) entries.push({ name: `train/blue/b${i}.png`, data: squareImage(3000 + i, { color: [40, 60, 220] }).png });
      const r = await api(ctx, 'POST', '/projects', { name: 'Colours', description: 'Red or blue (classification)' });
      ctx.state.classifyProjectId = r.id;
      await page.goto(`/projects/${r.id}`);
      await page.getByRole('button', { name: 'More' }).click();
      await page.getByRole('menuitem', { name: /Import dataset/ }).click();
      await page.getByTestId('import-input').setInputFiles({ name: 'colours.zip', mimeType: 'application/zip', buffer: zip(entries) });
      await page.getByRole('button', { name: 'Import', exact: true }).click();
      await page.getByText(/Imported 8 images and 0 annotations \(ImageFolder\)/).waitFor({ timeout: 60_000 });
      await ctx.shot('import-result');
      await page.getByRole('button', { name: 'Done' }).click();
      await until(async () => (await page.getByTestId('image-tile').count()) === 8, 20_000, '8 imported tiles');
      // The image class is shown on the tiles and can be changed in the annotation view.
      const images = (await api(ctx, 'GET', `/projects/${r.id}/images?page=1&per_page=100`)).items;
      const red = images.find((i) => i.class_label === 'red');
      assert(red && images.filter((i) => i.class_label === 'blue').length === 4, 'classes come from the folders');
      await page.goto(`/projects/${r.id}/annotate/${red.id}`);
      const field = page.getByPlaceholder('For classification');
      await until(async () => (await field.inputValue()) === 'red', 10_000, 'the image class in the annotation view');
      await field.fill('blue');
      await page.getByRole('option', { name: 'blue', exact: true }).click();
      await until(async () => (await api(ctx, 'GET', `/images/${red.id}`)).class_label === 'blue', 10_000, 'the new image class on the server');
      await ctx.shot('annotate-image-class');
      // Shift+digit classifies and moves to the next image.
      const classes = await page.locator('[data-class]').evaluateAll((els) => els.map((e) => e.getAttribute('data-class')));
      await page.locator('body').click({ position: { x: 700, y: 740 } });
      await page.keyboard.press(`Shift+Digit${classes.indexOf('red') + 1}`);
      await until(async () => (await api(ctx, 'GET', `/images/${red.id}`)).class_label === 'red', 10_000, 'Shift+digit to set the class back');
      await page.waitForURL((u) => !u.pathname.endsWith(`/annotate/${red.id}`), { timeout: 10_000 });
    },
  },
  {
    name: 'members',
    needs: ['/api/v1/projects/{id}/members'],
    after: ['create-project'],
    async run(ctx) {
      const { page } = ctx;
      const r = await fetch(`${ctx.base}/api/v1/auth/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'e2e-editor@example.com', password: 'another long password' }) });
      assert(r.status === 201, `registering a second user: ${r.status}`);
      await page.goto(`/projects/${ctx.state.projectId}?tab=members`);
      await page.getByLabel('Email').fill('nobody@example.com');
      await page.getByRole('button', { name: 'Add member' }).click();
      await page.locator('.Mui-error', { hasText: /./ }).first().waitFor();
      await page.getByLabel('Email').fill('e2e-editor@example.com');
      await page.getByRole('button', { name: 'Add member' }).click();
      await page.getByRole('cell', { name: 'e2e-editor@example.com', exact: true }).waitFor();
      await ctx.shot('project-members');
    },
  },
  {
    name: 'plugins-page',
    needs: ['/api/v1/plugins'],
    after: ['sign-up'],
    async run(ctx) {
      const { page } = ctx;
      await page.goto('/plugins');
      await page.getByRole('heading', { name: 'Plugins' }).waitFor();
      await page.locator('[data-testid^="plugins-"]').first().waitFor({ timeout: 15_000 });
      await ctx.shot('plugins');
      // A file that is not a component is refused, and the page says why.
      await page.getByTestId('plugin-input').setInputFiles({ name: 'not-a-plugin.wasm', mimeType: 'application/wasm', buffer: Buffer.from('\0asm this is not a component') });
      await page.getByTestId('plugin-rejected').waitFor({ timeout: 30_000 });
      const why = await page.getByTestId('plugin-rejected').textContent();
      ctx.log(`rejected upload: ${why.slice(0, 160)}`);
      assert(/not-a-plugin\.wasm/.test(why), `the rejection names the file: ${why}`);
      await ctx.shot('plugins-rejected');
    },
  },
  {
    name: 'wizard',
    needs: ['/api/v1/training/jobs'],
    after: ['label-the-rest'],
    async run(ctx) {
      const { page } = ctx;
      await page.goto(`/projects/${ctx.state.projectId}`);
      await page.getByRole('main').getByRole('link', { name: 'Train a model' }).click();
      await page.waitForURL('**/training/new?project=*');
      await page.getByText('Object detection').click();
      await ctx.shot('wizard-task');
      await page.getByRole('button', { name: /Next: Data/ }).click();
      await page.getByRole('checkbox', { name: 'Use Red squares' }).waitFor();
      assert(await page.getByRole('checkbox', { name: 'Use Red squares' }).isChecked(), 'the project is preselected');
      await page.getByRole('button', { name: /Next: Classes/ }).click();
      await page.getByLabel('Class name for square').waitFor();
      await ctx.shot('wizard-classes');
      await page.getByRole('button', { name: /Next: Split/ }).click();
      await page.getByRole('button', { name: /Next: Hyperparameters/ }).click();
      const epochs = Number(process.env.AF_E2E_EPOCHS ?? 2);
      await page.getByLabel('Epochs', { exact: true }).fill('0');
      // The range is the server's: epochs end at its max_epochs (1000 by default), not the engine's 10,000.
      await page.getByText('Must be at least 1 and at most 1000.').waitFor();
      await page.getByLabel('Epochs', { exact: true }).fill(String(epochs));
      await page.getByLabel('Batch size', { exact: true }).fill('4');
      await page.getByLabel('Image size', { exact: true }).fill('64');
      await ctx.shot('wizard-hyperparameters');
      await page.getByRole('button', { name: /Next: Review/ }).click();
      await page.locator('input[name="job-name"]').fill('e2e squares');
      await ctx.shot('wizard-review');
      await page.getByRole('button', { name: 'Start training' }).click();
      await page.waitForURL(/\/jobs\/\d+$/, { timeout: 30_000 });
      ctx.state.jobId = Number(page.url().split('/').pop());
      ctx.state.epochs = epochs;
    },
  },
  {
    name: 'monitor-live',
    needs: ['/api/v1/training/jobs/{id}'],
    after: ['wizard'],
    async run(ctx) {
      const { page } = ctx;
      // The server runs a worker: a job nobody picks up is a broken product, and fails.
      const PICKUP_MS = Number(process.env.AF_E2E_PICKUP_S ?? 90) * 1000;
      const t0 = Date.now();
      for (;;) {
        const job = await api(ctx, 'GET', `/training/jobs/${ctx.state.jobId}`);
        if (job.status !== 'pending') break;
        if (Date.now() - t0 > PICKUP_MS) throw new Error(`no worker picked up job ${ctx.state.jobId} within ${PICKUP_MS / 1000} s (AF_E2E_PICKUP_S); see tests/browser/artifacts/server.log`);
        await sleep(1000);
      }
      const seen = new Set();
      let shotMid = false;
      const status = await until(
        async () => {
          const s = await page.locator('[data-status]').first().getAttribute('data-status').catch(() => null);
          const points = Number(await page.getByTestId('loss-chart').getAttribute('data-points').catch(() => 0));
          if (s === 'training' || s === 'completed') seen.add(points);
          if (!shotMid && points >= 1 && s === 'training') {
            shotMid = true;
            await ctx.shot('monitor-live');
          }
          return s === 'completed' || s === 'failed' || s === 'cancelled' ? s : null;
        },
        TRAIN_TIMEOUT_MS,
        'the job to finish',
      );
      if (status !== 'completed') {
        const err = await page.locator('.MuiAlert-message').first().textContent().catch(() => '');
        throw new Error(`the job ended ${status}: ${err}`);
      }
      const final = Number(await page.getByTestId('loss-chart').getAttribute('data-points'));
      ctx.log(`chart point counts seen while live: ${[...seen].sort((a, b) => a - b).join(', ')}`);
      assert(final === ctx.state.epochs, `the loss chart shows ${final} epochs, expected ${ctx.state.epochs}`);
      // Live: the page saw the chart grow without a reload, not just the final state.
      assert(seen.size >= 2, `the charts did not update live (saw only ${[...seen].join(', ')} points)`);
      await page.getByTestId('current-metrics').waitFor();
      await ctx.shot('monitor-completed');
      const href = await page.getByRole('link', { name: 'Open the model' }).getAttribute('href');
      ctx.state.modelId = Number(href.split('/').pop());
      await page.goto('/jobs');
      await page.locator(`[data-job-id="${ctx.state.jobId}"]`).waitFor();
      await ctx.shot('jobs');
    },
  },
  {
    name: 'models',
    needs: ['/api/v1/models', '/api/v1/models/{id}'],
    after: ['monitor-live'],
    async run(ctx) {
      const { page } = ctx;
      await page.goto('/models');
      await page.locator(`[data-model-id="${ctx.state.modelId}"]`).waitFor();
      await ctx.shot('models');
      await page.locator(`[data-model-id="${ctx.state.modelId}"]`).click();
      await page.waitForURL(`**/models/${ctx.state.modelId}`);
      await page.getByText('Validation metrics').waitFor();
      await ctx.shot('model-detail');
    },
  },
  {
    name: 'predict',
    needs: ['/api/v1/models/{id}/predict'],
    after: ['models'],
    async run(ctx) {
      const { page } = ctx;
      await page.goto(`/models/${ctx.state.modelId}?tab=try`);
      await page.getByRole('button', { name: 'From a project' }).click();
      await page.getByLabel('Project').click();
      await page.getByRole('option', { name: 'Red squares' }).click();
      await page.locator(`button[title="${ctx.state.images[1].filename}"]`).click();
      await page.getByRole('button', { name: 'Predict' }).click();
      await until(async () => (await page.getByTestId('try-results').count()) > 0 || (await page.locator('.MuiAlert-standardError').count()) > 0, 60_000, 'a prediction');
      if ((await page.locator('.MuiAlert-standardError').count()) > 0) throw new Error(`predict failed: ${await page.locator('.MuiAlert-standardError').first().textContent()}`);
      await ctx.shot('model-try');
    },
  },
  {
    name: 'accept-prediction',
    needs: ['/api/v1/models/{id}/predict', '/api/v1/annotations/{id}'],
    after: ['predict'],
    async run(ctx) {
      const { page } = ctx;
      // An image whose label is removed, so the accepted prediction is its only shape.
      const image = ctx.state.images[2];
      const list = await api(ctx, 'GET', `/images/${image.id}/annotations`);
      for (const a of Array.isArray(list) ? list : list.items) await api(ctx, 'DELETE', `/annotations/${a.id}`);
      await page.goto(`/projects/${ctx.state.projectId}/annotate/${image.id}`);
      await page.getByTestId('shape-count').filter({ hasText: '0' }).waitFor();
      await page.getByRole('button', { name: 'Predict' }).click();
      await page.getByLabel('Confidence threshold').waitFor({ timeout: 60_000 });
      // Show every prediction the model made, then accept the most confident.
      await page.getByLabel('Confidence threshold').focus();
      await page.keyboard.press('Home');
      await page.getByTestId('prediction-list').waitFor({ timeout: 10_000 });
      await ctx.shot('annotate-predictions');
      await page.getByTestId('prediction-list').getByRole('button', { name: /^Accept/ }).first().click();
      await until(async () => (await page.getByTestId('shape-count').textContent()) === '1', 10_000, 'the accepted prediction to be saved');
      const after = await api(ctx, 'GET', `/images/${image.id}/annotations`);
      const saved = (Array.isArray(after) ? after : after.items)[0];
      assert(saved.source === 'custom_model' && typeof saved.confidence === 'number', `accepted annotation ${JSON.stringify(saved)}`);
      await ctx.shot('annotate-accepted');
    },
  },
  {
    name: 'prelabel',
    needs: ['/api/v1/projects/{id}/prelabel', '/api/v1/prelabel/{id}'],
    after: ['models'],
    async run(ctx) {
      const { page } = ctx;
      // Every image but one is labelled by hand, so the run skips them and labels that one.
      await page.goto(`/projects/${ctx.state.projectId}`);
      await page.getByRole('button', { name: 'More' }).click();
      await page.getByRole('menuitem', { name: /Pre-label/ }).click();
      const dialog = page.getByRole('dialog', { name: 'Pre-label with a model' });
      // The only active model is chosen already.
      await dialog.getByRole('combobox', { name: 'Model' }).filter({ hasText: 'e2e squares' }).waitFor();
      await dialog.getByLabel('Minimum confidence').focus();
      await page.keyboard.press('Home');
      await dialog.getByRole('button', { name: 'Start pre-labelling' }).click();
      await dialog.getByText(/^Done: /).waitFor({ timeout: 60_000 });
      await ctx.shot('prelabel-done');
      const text = await dialog.getByText(/^Done: /).textContent();
      assert(/skipped because they already had annotations/.test(text), `pre-label result: ${text}`);
      await dialog.getByRole('button', { name: 'Close' }).click();
    },
  },
  {
    name: 'cancel-job',
    needs: ['/api/v1/training/jobs/{id}'],
    after: ['wizard'],
    async run(ctx) {
      const { page } = ctx;
      // A second, long job (same data) cancelled from its monitor: queued or training, it stops.
      const first = await api(ctx, 'GET', `/training/jobs/${ctx.state.jobId}`);
      const config = { ...first.config, name: 'e2e to cancel', hyperparameters: { ...first.config.hyperparameters, epochs: 300 } };
      const job = await api(ctx, 'POST', '/training/jobs', config);
      await page.goto(`/jobs/${job.id}`);
      await page.getByRole('button', { name: 'Cancel training' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel training' }).click();
      await page.getByText('This job was cancelled.').waitFor({ timeout: 60_000 });
      await until(async () => (await api(ctx, 'GET', `/training/jobs/${job.id}`)).status === 'cancelled', 30_000, 'the job to be cancelled on the server');
      await ctx.shot('monitor-cancelled');
    },
  },
];
