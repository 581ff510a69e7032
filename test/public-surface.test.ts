/**
 * The root entry's exports are the list in docs/api.md, name for name: an export added to
 * src/index.ts without a line there (or a line left behind for a name no longer exported) fails
 * here, so the semver surface grows only on purpose. Names are read with the TypeScript compiler,
 * types included, so `export *` or a re-export under another name cannot slip past.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import * as keyward from '../src/index.js'
import { CPU_BOUND } from './support/budget.js'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Every name src/index.ts exports, values and types. */
function exportedNames(): string[] {
  const entry = `${root}src/index.ts`
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  })
  const checker = program.getTypeChecker()
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!
  return checker.getExportsOfModule(symbol).map((s) => s.name)
}

/** The names docs/api.md lists (`- \`name\`` lines), by `##` section. */
function listedNames(): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let section = '(before any section)'
  for (const line of readFileSync(`${root}docs/api.md`, 'utf8').split('\n')) {
    const heading = /^## (.+)$/.exec(line)
    if (heading !== null) section = heading[1]!
    const item = /^- `([A-Za-z_$][\w$]*)`/.exec(line)
    if (item !== null) sections.set(section, [...(sections.get(section) ?? []), item[1]!])
  }
  return sections
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort()

describe('public surface (docs/api.md)', () => {
  it('lists exactly the names src/index.ts exports, types included', CPU_BOUND, () => {
    const listed = [...listedNames().values()].flat()
    expect(sorted(exportedNames())).toEqual(sorted(listed))
  })

  it('lists each name once, under one of its two audiences', () => {
    const sections = listedNames()
    expect([...sections.keys()].sort()).toEqual(['For adapter and store authors', 'For app developers'])
    const listed = [...sections.values()].flat()
    expect(listed.filter((name, i) => listed.indexOf(name) !== i)).toEqual([])
  })

  it('every runtime value the entry exports is listed (the bundle sees what the compiler sees)', () => {
    const listed = new Set([...listedNames().values()].flat())
    expect(Object.keys(keyward).filter((name) => !listed.has(name))).toEqual([])
  })
})
