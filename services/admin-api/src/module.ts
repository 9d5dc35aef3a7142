import { join } from 'node:path';
import type { ServiceModule } from '@muster/runtime';
import { adminApiPlugin } from './app.ts';
import { weakAdminTokenWarning } from './auth.ts';
import { DEFAULT_ADMIN_UI_DIR, serveAdminUi } from './ui.ts';

export const adminApiModule: ServiceModule = {
  name: 'admin-api',
  async start({ adapters, config, announce }) {
    let ready = false;
    let bootstrap: () => Promise<void> = async () => {};
    let operatorCheck: (ip: string, authorization: unknown) => Promise<boolean> = async () => false;
    return {
      name: 'admin-api',
      mount: async (app) => {
        await app.register(adminApiPlugin, {
          store: adapters.store, log: adapters.rawStore, vault: adapters.vault, readStore: adapters.readStore, bus: adapters.bus, publicUrl: config.publicUrl, adminToken: config.adminToken, changesetWaitMs: config.changesetWaitMs, authFailuresPerMinute: config.authFailuresPerMinute,
          importMaxBytes: config.importMaxBytes, retentionTickMs: config.retentionTickMs, importDir: join(config.dataDir, 'imports'),
          deferBootstrap: (run) => { bootstrap = run; },
          exposeOperatorCheck: (check) => { operatorCheck = check; },
          onGeneratedAdminToken: (token) => {
            announce('');
            announce('  No MUSTER_ADMIN_TOKEN was set, so an admin token was generated. It is shown once:');
            announce(`    ${token}`);
            announce('  Only its hash is stored. Use it as: Authorization: Bearer <token>');
            announce('');
          },
        });
        const ui = await serveAdminUi(app, config.adminUiDir ?? DEFAULT_ADMIN_UI_DIR);
        if (!ui.served) app.log.warn(`the admin console is not served: ${ui.reason}`);
        const weak = weakAdminTokenWarning(config.adminToken);
        if (weak) announce(`Warning: ${weak}`);
      },
      // the admin token is bootstrapped (a generated one printed) only once the server listens
      listening: async () => { await bootstrap(); ready = true; },
      ready: () => ready,
      // the personal-data vault of this process: keys made and loaded, values sealed and opened, reads that found a key gone
      health: () => (adapters.vault ? { personalData: { ...adapters.vault.stats } } : { personalData: 'written in clear (MUSTER_SEAL_PERSONAL_DATA=off)' }),
      authorizeOperator: (req) => operatorCheck(req.ip, req.headers.authorization),
      stop: async () => { ready = false; },
    };
  },
};
