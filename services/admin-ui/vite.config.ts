import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into dist/ and served by the admin API at / (MUSTER_ADMIN_UI_DIR); `vite` alone serves it
// for development with the API proxied to a running Muster on :8080.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: { proxy: { '/api': 'http://localhost:8080', '/scim': 'http://localhost:8080' } },
});
