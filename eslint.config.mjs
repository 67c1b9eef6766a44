// @ts-check
/**
 * Lint: typescript-eslint's `strict` set, plus the few type-aware rules that
 * catch what the compiler does not (a promise nobody awaits or handles), and
 * `import type` for imports used only as types (STYLE.md). Kept small so that
 * `npm run lint` stays quick; the compiler does the rest (`npm run typecheck`).
 */
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', 'dist-check/**', 'coverage/**', 'artifacts/**', '**/*.js', '**/*.cjs'] },
  ...tseslint.configs.strict,
  {
    files: ['**/*.ts'],
    // An ES module fixture with top-level await that the CommonJS tsconfig excludes: linted without types.
    ignores: ['test/fixtures/modules/esm-package/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `_name` marks a parameter an override or a callback signature needs but does not read (as tsconfig's noUnusedParameters allows).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // CommonJS output: require() is how this code loads what is named only at run time
      // (service modules, ts-node, the optional bench package, package.json).
      '@typescript-eslint/no-require-imports': 'off',
      // A timer or handle declared first and assigned later, once the callbacks that clear it exist.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
);
