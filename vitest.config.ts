import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // Tests and adapters import the package by its name, as users do; here it is the source.
    alias: { keyward: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Generous budgets: many tests race hundreds of calls against real servers, bound by CPU, and a
    // loaded 2-core machine (CI beside other work) must not turn that into a failure. Nothing here
    // asserts on time; a hang still fails, only later.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.test.json' },
    // The second reporter repeats skipped integration groups as the run's last lines.
    reporters: ['default', './test/support/skipped-summary-reporter.ts'],
  },
})
