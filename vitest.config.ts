import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: {
    // Tests and adapters import the package by its name, as users do; here it is the source.
    alias: { keyward: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.test.json' },
    // The second reporter repeats skipped integration groups as the run's last lines.
    reporters: ['default', './test/support/skipped-summary-reporter.ts'],
  },
})
