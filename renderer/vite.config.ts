// Builds the renderer into dist/renderer: the ESP (index.html: served by the dev host, loaded by
// Electron over app://) and the admin console (admin.html: served by the service at /admin), one
// build sharing the design tokens and components.
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
    rollupOptions: { input: { esp: `${import.meta.dirname}/index.html`, admin: `${import.meta.dirname}/admin.html` } },
  },
});
