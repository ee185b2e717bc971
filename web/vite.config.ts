// The dashboard's front end: Preact with htm tagged templates (no JSX transform), charts by vega-lite. Built by
// `npm run build` into dist/web, which `probity serve` serves at `/`; everything is bundled (no CDN at run time).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    sourcemap: false,
  },
});
