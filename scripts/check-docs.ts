/**
 * Docs that run: every ```ts / ```typescript block of README.md and docs/*.md is type-checked with
 * `tsc --strict`, `module: nodenext`, each block a module of its own that imports `keyward`,
 * `keyward/express`... by name, resolved through the package's `exports` to the built `dist/` (as a
 * user's project resolves them). A block that assumes names declares them (`declare const app:
 * ...`) so that the checker sees it. Blocks preceded by `<!-- docs-check: run -->` are then run
 * with tsx and must exit 0; blocks preceded by `<!-- docs-check: serve -->` are servers: started
 * with tsx on a free port (the block's `3000` replaced), they must print a `curl` line, which is
 * then sent (expect 200) and sent again without its header (expect 401), and they are stopped.
 *
 * Run after `npm run build`: `npm run docs:check`.
 *
 * @example
 * ```sh
 * npm run build && npm run docs:check
 * ```
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'

const root = fileURLToPath(new URL('..', import.meta.url))
// Inside the package, so that `keyward` resolves to this package by self-reference.
const work = join(root, '.docs-check')

interface Block {
  doc: string
  line: number
  code: string
  run: boolean
  serve: boolean
  file: string
}

/** The TypeScript blocks of one Markdown file, with the line their code starts on. */
export function extractBlocks(doc: string, text: string): Omit<Block, 'file'>[] {
  const blocks: Omit<Block, 'file'>[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]!)
    if (open === null) {
      // Skip other fenced blocks whole, so a ``` inside them is not mistaken for an opening.
      if (/^\s*```/.test(lines[i]!)) while (++i < lines.length && !/^\s*```\s*$/.test(lines[i]!));
      continue
    }
    const run = i > 0 && /<!--\s*docs-check:\s*run\s*-->/.test(lines[i - 1]!)
    const serve = i > 0 && /<!--\s*docs-check:\s*serve\s*-->/.test(lines[i - 1]!)
    const start = i + 1
    const body: string[] = []
    while (++i < lines.length && !/^\s*```\s*$/.test(lines[i]!)) body.push(lines[i]!.slice(open[1]!.length))
    blocks.push({ doc, line: start + 1, code: body.join('\n'), run, serve })
  }
  return blocks
}

function docs(): string[] {
  const pages = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => join('docs', f))
    : []
  return ['README.md', ...pages.sort()]
}

/** Starts a server block, waits for its curl line, checks 200 with the key and 401 without. */
async function serveBlock(block: Block): Promise<string> {
  const port = await freePort()
  const file = block.file.replace(/\.ts$/, '_serve.ts')
  writeFileSync(join(work, file), `${block.code.replaceAll('3000', String(port))}\nexport {}\n`)
  const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(work, file)], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const curl = await new Promise<string>((resolve, reject) => {
      let out = ''
      let err = ''
      const timer = setTimeout(() => reject(new Error(`no curl line within 60 s\n${out}${err}`)), 60_000)
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk
        const line = out.split('\n').find((l) => l.startsWith('curl '))
        if (line !== undefined && out.includes('\n', out.indexOf(line))) {
          clearTimeout(timer)
          resolve(line)
        }
      })
      child.stderr.on('data', (chunk: Buffer) => (err += chunk))
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`exited (${code}) before printing a curl line\n${out}${err}`))
      })
    })
    const url = /(http:\/\/\S+)/.exec(curl)?.[1]
    const header = /-H "([^:]+): ([^"]+)"/.exec(curl)
    if (url === undefined || header === null) throw new Error(`cannot read the curl line: ${curl.replace(/Bearer \S+/, 'Bearer <key>')}`)
    const withKey = await fetch(url, { headers: { [header[1]!]: header[2]! } })
    const withoutKey = await fetch(url)
    if (withKey.status !== 200 || withoutKey.status !== 401) {
      throw new Error(`with the printed key: ${withKey.status} (expected 200), without: ${withoutKey.status} (expected 401)`)
    }
    return `GET ${url.replace(String(port), '3000')}: 200 with the printed key, 401 without`
  } finally {
    child.kill()
  }
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
    console.error('docs:check: dist/ is missing; run `npm run build` first (the blocks import the built package)')
    process.exit(1)
  }
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const blocks: Block[] = []
  for (const doc of docs()) {
    for (const block of extractBlocks(doc, readFileSync(join(root, doc), 'utf8'))) {
      const file = `${doc.replace(/[/.]/g, '_')}_L${block.line}.ts`
      // `export {}` makes a block without imports a module too: top-level await, no shared names.
      writeFileSync(join(work, file), `${block.code}\nexport {}\n`)
      blocks.push({ ...block, file })
    }
  }
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022'],
        types: ['node'],
        skipLibCheck: true,
        noEmit: true,
        noUnusedLocals: false,
      },
      include: ['*.ts'],
    }),
  )
  let failed = false
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work, '--pretty', 'false'], {
    encoding: 'utf8',
  })
  if (tsc.status !== 0) {
    failed = true
    // Point each error at the Markdown line it comes from.
    for (const message of `${tsc.stdout}${tsc.stderr}`.split('\n').filter(Boolean)) {
      const at = /^(?:.*[\\/])?([^\\/(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(message)
      const block = at && blocks.find((b) => b.file === at[1])
      console.error(block && at ? `${block.doc}:${block.line + Number(at[2]) - 1}:${at[3]} ${at[4]}` : message)
    }
  }
  for (const block of blocks.filter((b) => b.run)) {
    try {
      const out = execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [join(work, block.file)], {
        cwd: work,
        encoding: 'utf8',
        timeout: 60_000,
      })
      process.stdout.write(`ran ${block.doc}:${block.line}\n${out.replace(/^/gm, '  | ')}\n`)
    } catch (error) {
      failed = true
      console.error(`${block.doc}:${block.line}: the block failed when run\n${String((error as { stderr?: string }).stderr ?? error)}`)
    }
  }
  for (const block of blocks.filter((b) => b.serve)) {
    try {
      process.stdout.write(`served ${block.doc}:${block.line}: ${await serveBlock(block)}\n`)
    } catch (error) {
      failed = true
      console.error(`${block.doc}:${block.line}: the server block failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  const ran = blocks.filter((b) => b.run || b.serve).length
  console.log(`docs:check: ${blocks.length} blocks in ${docs().length} files, ${ran} run: ${failed ? 'FAILED' : 'ok'}`)
  if (!failed) rmSync(work, { recursive: true, force: true })
  else console.error(`(the extracted blocks are kept in ${relative(root, work)}/ to inspect)`)
  process.exit(failed ? 1 : 0)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
