import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is served by `tally serve` at `/`; in development `vite` proxies the API to it.
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 300 },
  server: { proxy: { '/v1': 'http://127.0.0.1:8787' } },
});
