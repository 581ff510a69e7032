// npm's `prepare` hook. It exists for git installs: `npm install github:keyward/keyward` clones the
// repository, runs `npm install` in the clone (this hook, with the devDependencies there) and packs
// it running only `prepare` (never `prepack`), so dist/ must be built here or the install has no
// code. Two skips keep installs fast:
// - `npm ci` (npm_command=ci) is a contributor's or CI's install: tests, `npm start` and the
//   examples run from the source, so nothing needs dist/, and a build would add ~15 s of CPU to
//   every `npm ci`. npm never uses `ci` to prepare a git dependency.
// - an existing dist/ is kept (npm prepares a git dependency twice: install, then pack).
// `npm pack` and `npm publish` always rebuild (`prepack`), so a stale dist/ is never shipped.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import process from 'node:process'

if (process.env.npm_command === 'ci') process.exit(0)
const outputs = ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/cli.js']
if (outputs.every((file) => existsSync(file))) process.exit(0)
const { status } = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' })
process.exit(status ?? 1)
