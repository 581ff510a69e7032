import { describe, expect, it } from 'vitest'
import SkippedSummaryReporter from './skipped-summary-reporter.js'
import type { UserConsoleLog } from 'vitest'

const log = (content: string) =>
  ({ content, type: 'stderr', time: 0, taskId: undefined, size: content.length }) as unknown as UserConsoleLog
const banner = (missing: string, tests: string) =>
  `\n${'!'.repeat(78)}\n!! ${missing} does not answer: ${tests} are SKIPPED.\n` +
  `!! Start it to run them. In CI (CI=true) this is a failure.\n${'!'.repeat(78)}\n`

describe('the skipped-groups summary at the end of a run', () => {
  it('lists every skipped group once, after everything else', () => {
    let out = ''
    const reporter = new SkippedSummaryReporter((text) => (out += text))
    reporter.onUserConsoleLog(log('some other output'))
    reporter.onUserConsoleLog(log(banner('Redis on 127.0.0.1:6379', 'the RedisRateLimiter integration tests')))
    reporter.onUserConsoleLog(log(banner('PostgreSQL on 127.0.0.1:5432', 'the PostgreSQL store tests')))
    reporter.onUserConsoleLog(log(banner('Redis on 127.0.0.1:6379', 'the RedisRateLimiter integration tests')))
    reporter.onUserConsoleLog(
      log(`\n!! /usr/bin/chromium is missing: the browser test is SKIPPED.\n!! Install it (apt-get install -y chromium).\n`),
    )
    reporter.onTestRunEnd()
    expect(out).toContain('the browser test (/usr/bin/chromium: not available)')
    expect(out).toContain('NOT A FULL RUN: 3 integration group(s) SKIPPED')
    expect(out).toContain('the RedisRateLimiter integration tests (Redis on 127.0.0.1:6379: not available)')
    expect(out).toContain('the PostgreSQL store tests (PostgreSQL on 127.0.0.1:5432: not available)')
  })

  it('says nothing when every group ran', () => {
    let out = ''
    const reporter = new SkippedSummaryReporter((text) => (out += text))
    reporter.onUserConsoleLog(log('plain output'))
    reporter.onTestRunEnd()
    expect(out).toBe('')
  })
})
