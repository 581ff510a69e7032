/**
 * Repeats, as the very last lines of a test run, every integration group that skipped because its
 * server did not answer. The banners `warnSkipped` prints scroll away long before the run ends
 * "passed"; this makes a partial run impossible to mistake for a full one.
 *
 * Listed after 'default' in vitest.config.ts, so it writes after the default summary.
 *
 * @example
 * ```ts
 * export default defineConfig({ test: { reporters: ['default', './test/support/skipped-summary-reporter.ts'] } })
 * ```
 */
import type { UserConsoleLog } from 'vitest'
import type { Reporter } from 'vitest/node'

// The banner lines of warnSkipped (test/support/servers.ts) and of the browser test.
const SKIPPED_LINE = /^!! (.+) (?:does not answer|is missing): (.+) (?:are|is) SKIPPED\.$/gm

/** Collects skipped groups from the workers' console output and reports them at the end. */
export default class SkippedSummaryReporter implements Reporter {
  readonly #skipped = new Map<string, string>()
  readonly #write: (text: string) => void

  // Vitest constructs reporters with their options object; tests pass a writer instead.
  constructor(write?: ((text: string) => void) | object) {
    this.#write = typeof write === 'function' ? (write as (text: string) => void) : (text) => void process.stdout.write(text)
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    for (const [, missing, tests] of log.content.matchAll(SKIPPED_LINE)) this.#skipped.set(tests!, missing!)
  }

  onTestRunEnd(): void {
    if (this.#skipped.size === 0) return
    const lines = [...this.#skipped].map(([tests, missing]) => `   - ${tests} (${missing}: not available)`)
    this.#write(
      `\n!! NOT A FULL RUN: ${this.#skipped.size} integration group(s) SKIPPED:\n${lines.join('\n')}\n` +
        '!! Start the servers (README, "Contributing") and run again; in CI (CI=true) this fails instead.\n\n',
    )
  }
}
