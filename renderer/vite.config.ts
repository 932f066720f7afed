// Builds the renderer into dist/renderer (served by the dev host, loaded by Electron over app://).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // No inline scripts or styles: the hosts' CSP allows 'self' only.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
});
