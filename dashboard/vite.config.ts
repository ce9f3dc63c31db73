import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * The dashboard builds into `dist/` (index.html + content-hashed `assets/`), which the gateway serves at `/`
 * (gateway/src/http/dashboard.ts: hashed assets immutable, index.html no-cache, a strict CSP — so nothing here may
 * emit an inline script or style). `npm run dev` serves the sources with the API and `/ws` proxied to a running
 * gateway (GATEWAY_URL, default http://127.0.0.1:8080).
 */
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';

/** Writes `.br` and `.gz` beside every text asset, so the gateway sends them precompressed (no CPU per request). */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'devicesaga-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
      for (const file of walk(outDir)) {
        if (!/\.(js|css|svg|json|txt)$/.test(file) || statSync(file).size < 1024) continue;
        const body = readFileSync(file);
        writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // No data: URIs: every asset is a file the CSP's 'self' covers.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    port: 5173,
    // The gateway checks Origin (CSRF on cookie-authenticated writes, the WebSocket upgrade): present its own.
    proxy: {
      '/api': { target: gateway, headers: { origin: gateway } },
      '/ws': { target: gateway.replace(/^http/, 'ws'), ws: true, headers: { origin: gateway } },
    },
  },
});
