/// <reference types="vitest/config" />
// Vite builds the UI into `dist/`, which the host serves at `/`. In development (`npm run dev`)
// API and WebSocket calls are proxied to a host on AF_API (default http://127.0.0.1:8000).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const api = process.env.AF_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  server: {
    proxy: {
      '/api': { target: api, ws: true, changeOrigin: true },
      '/healthz': { target: api },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    css: false,
    restoreMocks: true,
    // Generous: component tests share two cores with cargo builds on CI machines.
    testTimeout: 60_000,
  },
});
