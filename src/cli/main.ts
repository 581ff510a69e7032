#!/usr/bin/env node
/**
 * The `keyward` command (package.json `bin`): key management against PostgreSQL or Redis.
 * `keyward keys --help` lists the commands; README "Managing keys" documents them.
 */
import { runCli } from './run.js'

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  now: Date.now,
})
