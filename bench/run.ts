/**
 * `npm run bench` — every benchmark, printing figures (record them in docs/performance.md).
 * `npm run bench -- event-store scim` runs only the named sections.
 */
const SECTIONS: Record<string, () => Promise<unknown>> = {
  'event-store': async () => (await import('./event-store.ts')).benchEventStore(),
  'read-store': async () => { const m = await import('./read-store.ts'); console.log(m.formatBench(await m.benchReadStore({ log: (l) => console.log(l) }))); },
  // the SCIM figures, then the cost of sealing personal data on them (before/after in one run)
  scim: async () => { await (await import('./scim.ts')).benchScim(); console.log('\n--- sealing personal data: before (clear) and after (sealed), side by side ---'); await (await import('./sealing.ts')).benchSealing(); },
  sealing: async () => (await import('./sealing.ts')).benchSealing(),
  projection: async () => (await import('./projection.ts')).benchProjection(),
  changesets: async () => (await import('./changesets.ts')).benchChangesets(),
  imports: async () => (await import('./imports.ts')).benchImports(),
  entra: async () => (await import('./entra.ts')).benchEntra(),
  restart: async () => (await import('./restart.ts')).benchRestart(),
  ui: async () => (await import('./ui.ts')).benchUi(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !(w in SECTIONS));
if (unknown.length) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
const run = wanted.length ? wanted : Object.keys(SECTIONS);
console.log(`muster bench — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}`);
for (const name of run) {
  console.log(`\n=== ${name} ===`);
  const t0 = Date.now();
  try {
    await SECTIONS[name]();
  } catch (err) {
    console.log(`section ${name} failed: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  }
  console.log(`(${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
