/**
 * The component the routes serve is the component in ui/: src/management/ui-script.generated.ts
 * is rebuilt here and must match (run `tsx scripts/build-ui.ts` after editing ui/). And the
 * source never parses data as HTML, never touches storage and never logs, so a key's secret or
 * a hostile name has nowhere to go but text.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { bundleUi, generatedModule } from '../../scripts/build-ui.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('<keyward-keys> bundle', () => {
  it('the served script is the current build of ui/', async () => {
    const committed = readFileSync(`${root}src/management/ui-script.generated.ts`, 'utf8')
    expect(committed === generatedModule(await bundleUi()), 'stale: run `npx tsx scripts/build-ui.ts` and commit the result').toBe(true)
  }, 30_000)

  it('has no import: one dependency-free module', async () => {
    expect(await bundleUi()).not.toMatch(/\bimport\s*[("'{*]|\brequire\(/)
  })

  it('no HTML parsing, storage or logging in ui/', () => {
    for (const file of readdirSync(`${root}ui`).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(`${root}ui/${file}`, 'utf8')
      expect(source, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|DOMParser|createContextualFragment/)
      expect(source, file).not.toMatch(/localStorage|sessionStorage|indexedDB|document\.cookie|console\./)
    }
  })
})
