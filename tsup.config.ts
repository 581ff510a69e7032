import { defineConfig } from 'tsup'

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      express: 'adapters/express.ts',
      'express-augment': 'adapters/express-augment.ts',
      koa: 'adapters/koa.ts',
      hono: 'adapters/hono.ts',
      fastify: 'adapters/fastify.ts',
      fetch: 'adapters/fetch.ts',
      postgres: 'src/postgres.ts',
      redis: 'src/redis.ts',
      cloudflare: 'src/cloudflare.ts',
      otel: 'src/otel.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // Not here: `npm run build` empties dist/ first. The three configs build at once into one
    // folder, and tsup's declaration build of a cleaning config deletes every *.d.ts it finds
    // (whatever the exclusions), so testing.d.ts went missing whenever it was written first.
    clean: false,
    target: 'es2022',
    platform: 'neutral',
    treeshake: true,
    // Runtime deps and optional peers stay imports; the adapters import the core as 'keyward'
    // itself so that every entry shares one copy of it (one KeywardError class, one cache).
    external: [
      'jose',
      '@noble/hashes',
      'lru-cache',
      'express',
      'koa',
      'hono',
      'fastify',
      'fastify-plugin',
      '@opentelemetry/api',
      'keyward',
    ],
  },
  {
    // keyward/testing: the conformance suites, for vitest (an optional peer, imported only here).
    // ESM only, as vitest is (its CommonJS entry throws). Node, since a suite may start a second
    // server process. It bundles the parts of the core it uses (createKeyward for the end-to-end
    // tests): a suite shares no instance with the app.
    entry: { testing: 'testing/index.ts' },
    format: ['esm'],
    // The core's tsconfig has `"types": []`; this entry's second-process helper needs Node's.
    dts: { compilerOptions: { types: ['node'] } },
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    treeshake: true,
    external: ['jose', '@noble/hashes', 'lru-cache', 'vitest'],
    // Keep `node:child_process`: Deno and Bun resolve built-ins by that name.
    removeNodeProtocol: false,
  },
  {
    // The `keyward` command: Node only, ESM, the core bundled in (a CLI shares no instance with
    // anything); the drivers stay imports, loaded only when their flag is given. tsup keeps the
    // shebang and marks the file executable.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    platform: 'node',
    external: ['pg', 'ioredis'],
  },
])
