import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { fileURLToPath } from 'node:url';
import { AppModule } from './app.module.js';
import { demoBrokerFromEnv } from './broker/demo-broker.js';
import { configureApp, DOCS_PATH } from './configure-app.js';
import { startLocalDatabase, StartupError, type LocalDatabase } from './database/local-database.js';

/**
 * Admin token used when FLOWBUS_ADMIN_TOKEN is unset. For the demo only: anyone who reads this
 * file knows it, which is why the demo listens on 127.0.0.1 unless HOST says otherwise.
 */
const DEMO_ADMIN_TOKEN = 'flowbus-demo-admin-token';
/** `.data/pg` at the repository root (git-ignored): apps/demo/{src,dist}/main → ../../../ */
const DATA_DIR = fileURLToPath(new URL('../../../.data/pg', import.meta.url));

const logger = new Logger('Demo');
/** The signals that stop the demo gracefully (Ctrl-C, `kill`, a closed terminal). */
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface Config {
  port: number;
  host: string;
  adminToken: string;
  paymentTimeoutMs: number | undefined;
  databaseUrl: string | undefined;
}

function readConfig(env: NodeJS.ProcessEnv): Config {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new StartupError(`PORT must be a port number, got "${env.PORT}"`);
  const adminToken = env.FLOWBUS_ADMIN_TOKEN ?? DEMO_ADMIN_TOKEN;
  if (adminToken.length < 16) throw new StartupError('FLOWBUS_ADMIN_TOKEN must be at least 16 characters long');
  const timeout = env.PAYMENT_TIMEOUT_MS === undefined ? undefined : Number(env.PAYMENT_TIMEOUT_MS);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new StartupError(
      `PAYMENT_TIMEOUT_MS must be a positive integer (milliseconds), got "${env.PAYMENT_TIMEOUT_MS}"`,
    );
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    adminToken,
    paymentTimeoutMs: timeout,
    databaseUrl: env.DATABASE_URL || undefined,
  };
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  let database: LocalDatabase | undefined;
  if (!config.databaseUrl) database = await startLocalDatabase(DATA_DIR);
  const databaseUrl = config.databaseUrl ?? database!.url;
  // The relay calls the shipping webhook of this very process.
  const selfUrl = `http://${isWildcard(config.host) ? '127.0.0.1' : urlHost(config.host)}:${config.port}`;

  let app: INestApplication | undefined;
  try {
    app = await NestFactory.create(
      AppModule.forRoot({
        databaseUrl,
        selfUrl,
        adminToken: config.adminToken,
        paymentTimeoutMs: config.paymentTimeoutMs,
        // AMQP_URL or NATS_URL: the shipping service runs as a second process (shipping-main.ts).
        broker: demoBrokerFromEnv(process.env),
      }),
      // Throw instead of exiting, so the embedded server is stopped below.
      { abortOnError: false },
    );
    configureApp(app);
    app.enableShutdownHooks([...SHUTDOWN_SIGNALS]);
    stopOnSignal(app, database);
    await app.listen(config.port, config.host);
  } catch (error) {
    await app?.close().catch((e: unknown) => logger.error(`Could not close the app: ${String(e)}`));
    await database?.server.stop();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError(`${config.host}:${config.port} is in use: stop what listens there, or set PORT`);
    }
    throw error;
  }
  printBanner(config, database, databaseUrl);
}

/**
 * On SIGINT/SIGTERM/SIGHUP: close the app (relay and timeout scheduler stop and hand back what they
 * hold, the DataSource closes), then stop the embedded server, then exit. Nest's own shutdown
 * hooks (enableShutdownHooks) run the same close; waiting on it here keeps the process alive
 * until the database is down too.
 */
function stopOnSignal(app: INestApplication, database: LocalDatabase | undefined): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received, shutting down`);
    try {
      await app.close();
      if (database) {
        await database.server.stop();
        logger.log('Embedded PostgreSQL stopped');
      }
      logger.log('Bye');
      process.exit(0);
    } catch (error) {
      logger.error(`Shutdown failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    }
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, (s: NodeJS.Signals) => void stop(s));
}

function printBanner(config: Config, database: LocalDatabase | undefined, databaseUrl: string): void {
  const base = `http://${isWildcard(config.host) ? 'localhost' : urlHost(config.host)}:${config.port}`;
  const defaultToken = config.adminToken === DEMO_ADMIN_TOKEN;
  const db = database
    ? `embedded PostgreSQL on 127.0.0.1:${database.server.port}, data in ${database.server.dataDir} (kept across restarts)`
    : `DATABASE_URL (${redact(databaseUrl)})`;
  const lines = [
    '',
    'Flowbus order-fulfilment demo is running',
    '',
    `  Landing page        ${base}/`,
    `  API                 ${base}/orders`,
    `  Swagger UI          ${base}/${DOCS_PATH}`,
    `  Flowbus dashboard   ${base}/flowbus/`,
    `  Admin token         ${config.adminToken}${defaultToken ? '   (demo default; set FLOWBUS_ADMIN_TOKEN to change it)' : ''}`,
    `  Database            ${db}`,
    '',
    'Try it:',
    `  curl -s -X POST ${base}/orders -H 'content-type: application/json' \\`,
    `       -d '{"customer":"ada@example.com","items":[{"sku":"KEYBOARD-MX","qty":1}]}'`,
    `  curl -s ${base}/orders/<id>`,
    `  curl -s -X POST ${base}/simulate/shipping -H 'content-type: application/json' -d '{"mode":"down"}'`,
    '',
    database ? 'Ctrl-C stops the app, then the database.' : 'Ctrl-C stops the app.',
    '',
  ];
  if (defaultToken && isWildcard(config.host)) {
    lines.push(
      `WARNING: listening on ${config.host} with the demo's default admin token: set FLOWBUS_ADMIN_TOKEN.`,
      '',
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

main().catch((error: unknown) => {
  // A bad setting or a busy data directory: the message says what to do, a stack would not help.
  if (error instanceof StartupError) logger.error(error.message);
  else logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
