import { defineConfig } from 'vite';

// The page is embedded in the clickhunt binary from dist/ (crates/server/build.rs).
// `npm run dev` proxies the API to a running `clickhunt serve` (CLICKHUNT_URL).
const target = process.env.CLICKHUNT_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    // No data: URIs or inline code: everything is a file under the strict CSP.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: { '/api': { target, changeOrigin: false } },
  },
});
