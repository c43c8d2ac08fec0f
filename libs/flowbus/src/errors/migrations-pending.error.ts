import { FlowbusError } from './flowbus.error.js';

/**
 * Thrown at bootstrap with `migrationsRun: false` when the schema lacks migrations this version
 * needs; names them and the command that applies them.
 */
export class MigrationsPendingError extends FlowbusError {
  constructor(
    readonly schema: string,
    readonly pending: readonly { id: number; name: string }[],
  ) {
    const list = pending.map((m) => `${m.id} (${m.name})`).join(', ');
    super(
      'FLOWBUS_MIGRATIONS_PENDING',
      `Flowbus schema "${schema}" is not up to date: migration(s) ${list} not applied, and migrationsRun is false. ` +
        `Apply them with \`DATABASE_URL=postgres://… npx flowbus-migrate up --schema ${schema}\` ` +
        `(\`npx flowbus-migrate sql --schema ${schema}\` prints the SQL for review), ` +
        'or with flowbusMigrations() in your TypeORM migrations, or set migrationsRun: true.',
    );
  }
}
