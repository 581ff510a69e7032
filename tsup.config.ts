import { defineConfig } from 'tsup'

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    express: 'adapters/express.ts',
    'express-augment': 'adapters/express-augment.ts',
    koa: 'adapters/koa.ts',
    hono: 'adapters/hono.ts',
    postgres: 'src/postgres.ts',
    redis: 'src/redis.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  treeshake: true,
  // Runtime deps and optional peers stay imports; the adapters import the core as 'keyward'
  // itself so that every entry shares one copy of it (one KeywardError class, one cache).
  external: ['jose', '@noble/hashes', 'lru-cache', 'express', 'koa', 'hono', 'keyward'],
})
