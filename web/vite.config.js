// Builds the dashboard (index.html) and the GraphiQL page (graphiql.html)
// into dist/, which web/embed.go embeds. The output must be reproducible:
// CI rebuilds it and fails when it differs from the committed dist/
// (web/check-build.sh).
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const backend = process.env.USESTATS_URL || 'http://127.0.0.1:18080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything as files of this origin: the pages' CSP (default-src
    // 'self') refuses data: URIs for fonts and images.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 8000,
    rollupOptions: {
      // React libraries' "use client" lines mean nothing in a bundle.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        graphiql: resolve(import.meta.dirname, 'graphiql.html'),
      },
    },
  },
  // `npm run dev --prefix web` with `usestats serve` on USESTATS_URL: the
  // pages ask their own origin, which forwards to the server.
  server: {
    proxy: {
      '/graphql': backend,
      '/export': backend,
    },
  },
});
