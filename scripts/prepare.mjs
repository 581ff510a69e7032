// npm's `prepare` hook: builds dist/ when it is missing, so that a git install
// (`npm install github:keyward/keyward`, which clones, installs and runs only `prepare`) and a
// fresh clone's `npm ci` both end with a working package. An existing dist/ is left alone so a
// repeated `npm ci` stays fast; `npm pack` and `npm publish` rebuild it anyway (`prepack`), so
// a stale dist/ is never shipped.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const outputs = ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/cli.js']
if (outputs.every((file) => existsSync(file))) process.exit(0)
const { status } = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' })
process.exit(status ?? 1)
