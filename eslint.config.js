import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['src/management/ui-script.generated.ts', 'dist/', 'node_modules/', 'coverage/', '.smoke/', '.docs-check/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The core must run on Workers, Deno and Bun: no Node built-ins outside the CLI. Only the
      // keyward/testing entry (testing/) may import vitest.
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['node:*'], message: 'The core must not import node: modules.' }],
          paths: [{ name: 'vitest', message: 'Only keyward/testing (testing/) may import vitest.' }],
        },
      ],
    },
  },
  {
    // House style: Prettier wraps code at 140 columns; this keeps strings and comments within it too.
    files: ['**/*.ts', '**/*.mts', '**/*.cts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: { 'max-len': ['error', { code: 140, ignoreUrls: true }] },
  },
  {
    files: ['testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*'], message: 'The suites stay portable: node: modules only in testing/second-process.ts.' }] },
      ],
    },
  },
  {
    files: ['src/cli/**', 'testing/second-process.ts', 'test/**', 'bench/**', 'examples/**', 'scripts/**', '*.config.ts', '.ci/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
)
