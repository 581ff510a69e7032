/**
 * `npm run bench`: runs every `bench/*.bench.ts` in a child process of its own (with --expose-gc,
 * one at a time so they do not compete for the CPU), then writes BENCHMARKS.md and
 * bench/results.json from the suites they emit (see bench/harness.ts for the format).
 *
 * `BENCH_SMOKE=1 npm run bench` (CI) runs each case a few hundred times only and writes the two
 * files to a temporary directory, never over the committed ones. Names given as arguments
 * (`npm run bench -- verify http`) run only the bench files whose names contain them; such a
 * partial run also writes to the temporary directory.
 *
 * `npm run bench -- --render` rewrites BENCHMARKS.md from the committed bench/results.json without
 * running anything (after an edit of bench/NOTES.md, the commentary it includes).
 *
 * `npm run bench -- --merge revocation redis-cluster` runs only the named bench files and merges their
 * suites into the committed results (replacing suites of the same id, adding new ones), then rewrites
 * BENCHMARKS.md; each merged suite says when and under what load it was measured, since it was not
 * measured in the run the header names.
 *
 * A bench file that exits 0 without emitting a suite is still reported: its output goes into
 * BENCHMARKS.md verbatim. A bench file that fails makes the run exit 1, after the others ran.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machineLine, markdownSuite, smoke, type Suite } from './harness.js'

interface Outcome {
  file: string
  code: number | null
  seconds: number
  suite?: Suite
  output: string
}

const benchDir = fileURLToPath(new URL('.', import.meta.url))
const root = join(benchDir, '..')
const committedJson = join(benchDir, 'results.json')
// --render: rewrite BENCHMARKS.md from bench/results.json (after editing bench/NOTES.md), no runs.
const renderOnly = process.argv.includes('--render')
const merge = process.argv.includes('--merge')
const filters = process.argv.slice(2).filter((a) => a !== '--render' && a !== '--merge')
if (merge && (renderOnly || smoke || filters.length === 0)) {
  console.error('--merge takes the names of the bench files to run, and no --render or BENCH_SMOKE')
  process.exit(2)
}
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts') && !renderOnly)
  .filter((f) => filters.length === 0 || filters.some((want) => f.includes(want)))
  .sort()
const scratch = mkdtempSync(join(tmpdir(), 'keyward-bench-'))

function runOne(file: string): Promise<Outcome> {
  const resultFile = join(scratch, `${file}.json`)
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', join(benchDir, file)], {
      cwd: root,
      env: { ...process.env, BENCH_RESULT_FILE: resultFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const collect = (stream: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString()
      stream.write(chunk)
    }
    child.stdout.on('data', collect(process.stdout))
    child.stderr.on('data', collect(process.stderr))
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000
      const suite = existsSync(resultFile) ? (JSON.parse(readFileSync(resultFile, 'utf8')) as Suite) : undefined
      resolve({ file, code, seconds, suite, output })
    })
  })
}

// Other processes' load, read before and after: the figures' noise grows with it.
const loadBefore = loadavg()[0]!
const outcomes: Outcome[] = []
for (const file of files) {
  console.log(`\n=== bench/${file}${smoke ? ' (smoke)' : ''}`)
  const outcome = await runOne(file)
  console.log(`=== bench/${file}: exit ${outcome.code}, ${outcome.seconds.toFixed(1)} s`)
  outcomes.push(outcome)
}

const previous =
  renderOnly || merge
    ? (JSON.parse(readFileSync(committedJson, 'utf8')) as {
        machine: string
        date: string
        load: string
        suites: Suite[]
        failed: string[]
      })
    : undefined
const thisLoad = `${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`
const thisDate = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
const load = previous?.load ?? thisLoad
const date = previous?.date ?? thisDate
const machine = previous?.machine ?? machineLine()
const ran = outcomes.flatMap((o) => (o.suite ? [o.suite] : []))
// A merged suite carries its own run line: it was not measured in the run the header names.
const stamped = merge ? ran.map((s) => ({ ...s, run: `${thisDate}, load average ${thisLoad}` })) : ran
const suites = (
  merge ? [...previous!.suites.filter((s) => !stamped.some((n) => n.id === s.id)), ...stamped] : (previous?.suites ?? ran)
).sort((a, b) => a.order - b.order)
const targets = suites.flatMap((s) => (s.targets ?? []).map((t) => ({ suite: s.title, ...t })))
const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured (smoke)' : met ? '**met**' : '**missed**')
const notesFile = join(benchDir, 'NOTES.md')

const md: string[] = [
  '# Benchmarks',
  '<!-- Generated by `npm run bench` (bench/run.ts) from bench/*.bench.ts and bench/NOTES.md. Do not edit by hand. -->',
  `Machine: ${machine}. Run: ${date}${smoke ? ' (smoke run: no figures)' : ''}. Load average (1 min): ${load}.`,
  'Every table compares keyward with the libraries a user would pick instead, measured in the same ' +
    'process or the same run; ratios are value ÷ the reference row, so they carry over between ' +
    'machines better than the absolute figures. Reproduce with `npm run bench` (about 45 minutes; ' +
    'the Redis bench starts a redis-server of its own, or uses `BENCH_REDIS_URL`). The raw results ' +
    'are in [bench/results.json](bench/results.json).',
]
if (targets.length > 0) {
  md.push(
    '## Targets',
    '| target | verdict | figures |\n|---|---|---|\n' + targets.map((t) => `| ${t.name} | ${verdict(t.met)} | ${t.detail} |`).join('\n'),
  )
}
if (existsSync(notesFile)) md.push(readFileSync(notesFile, 'utf8').trim())
for (const s of suites) md.push(markdownSuite(s))
for (const o of outcomes) {
  if (o.suite === undefined && o.code === 0)
    md.push(`## bench/${o.file}`, 'This bench file printed its results instead of emitting a suite:', '```\n' + o.output.trim() + '\n```')
}
const failed = outcomes.filter((o) => o.code !== 0)
if (failed.length > 0) md.push('## Failed', failed.map((o) => `- bench/${o.file}: exit ${o.code}`).join('\n'))

const partial = filters.length > 0 && !merge
const outDir = smoke || partial ? scratch : root
const mdPath = join(outDir, 'BENCHMARKS.md')
const jsonPath = smoke || partial ? join(outDir, 'results.json') : committedJson
writeFileSync(mdPath, md.join('\n\n') + '\n')
if (!renderOnly)
  writeFileSync(jsonPath, JSON.stringify({ machine, date, load, smoke, suites, failed: failed.map((o) => o.file) }, null, 2) + '\n')
console.log(
  `\nwrote ${mdPath}${renderOnly ? ` from ${jsonPath}` : ` and ${jsonPath}`}` +
    (smoke || partial ? ' (smoke or partial run: the committed files are untouched)' : ''),
)
for (const o of outcomes) console.log(`  bench/${o.file}: ${o.code === 0 ? 'ok' : `FAILED (exit ${o.code})`} in ${o.seconds.toFixed(1)} s`)
process.exit(failed.length > 0 ? 1 : 0)
