/**
 * The layering rules `npm test` enforces (tests/layering.test.ts runs them):
 *   libs      import only libs (and packages)
 *   services  import libs, never another service (what two services share lives in a lib; what
 *             crosses a service boundary at run time goes over the bus)
 *   entry points (services/launcher, cli, bench, tests) may compose services
 * A service's whole-stack tests start the stack through tests/helpers.ts, the one test harness.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-service-imports-another-service',
      comment: 'A service imports libs only; share code through a lib and talk over the bus.',
      severity: 'error',
      from: { path: '^services/([^/]+)/', pathNot: '^services/launcher/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'no-lib-imports-a-service-or-entry-point',
      comment: 'Libs sit below every service and entry point.',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^(services|cli|bench|tests|tools)/' },
    },
    {
      name: 'no-production-code-imports-tests',
      comment: 'Test harnesses stay out of what runs in production.',
      severity: 'error',
      from: { path: '^(libs|services|cli)/[^/]+/src/', pathNot: '(\\.test\\.ts$|/testing/)' },
      to: { path: '(^tests/|\\.test\\.ts$|/testing/)' },
    },
    {
      name: 'no-circular-between-packages',
      comment: 'Workspace packages form a layered graph, not a cycle.',
      severity: 'error',
      from: { path: '^(libs|services)/([^/]+)/' },
      to: { circular: true, path: '^(libs|services)/', pathNot: '^(libs|services)/$2/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|data|\\.tmp)/' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    preserveSymlinks: false,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
