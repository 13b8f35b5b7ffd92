// Starts the real host (`annotateforge serve`) on a free port with a throwaway data directory
// (SQLite) and the built front end, waits until it answers /healthz, and stops it.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, existsSync, createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The `annotateforge` binary: AF_BIN, else the cargo target dir's debug build. */
export function findBinary(root) {
  const candidates = [
    process.env.AF_BIN,
    process.env.CARGO_TARGET_DIR && join(process.env.CARGO_TARGET_DIR, 'debug', 'annotateforge'),
    join(root, 'target', 'debug', 'annotateforge'),
    process.env.HOME && join(process.env.HOME, '.cache', 'annotateforge', 'target', 'debug', 'annotateforge'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`annotateforge binary not found (looked at ${candidates.join(', ')}); run \`cargo build --bin annotateforge\` or set AF_BIN`);
  return found;
}

export async function startServer({ root, frontendDir, logFile, extraArgs = [] }) {
  const bin = findBinary(root);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'af-e2e-data-'));
  const args = ['serve', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--frontend-dir', frontendDir, ...extraArgs];
  const log = createWriteStream(logFile);
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' };
  delete env.DATABASE_URL; // always the embedded SQLite in the temp data dir
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) {
      await new Promise((r) => log.end(r));
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      const hint = exited.code === 127 ? ' (a shared library is missing: source scripts/env.sh so libtorch is on LD_LIBRARY_PATH)' : '';
      throw new Error(`annotateforge exited early (${JSON.stringify(exited)})${hint}; ${logFile} ends with:\n${tail}`);
    }
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`annotateforge did not answer /healthz within 120 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = Date.now();
      while (!exited && Date.now() - t < 10_000) await new Promise((r) => setTimeout(r, 100));
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, port, dataDir, bin, stop };
}
