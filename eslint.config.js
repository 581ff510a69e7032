import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.smoke/', '.docs-check/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The core must run on Workers, Deno and Bun: no Node built-ins outside the CLI.
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'The core must not import node: modules.' }] }],
    },
  },
  {
    files: ['src/cli/**', 'test/**', 'bench/**', 'examples/**', 'scripts/**', '*.config.ts', '.ci/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
)
