import { DataSource } from 'typeorm';
import { describeError } from '../errors/handler-failures.error.js';
import { InvalidOptionsError } from '../errors/invalid-options.error.js';
import { migrationStatus, typeormMigrationsTable } from '../migrations/migration-status.js';
import { migrationScript, runMigrations } from '../migrations/migration.runner.js';
import { resolveOptions } from '../options/resolve-options.js';
import { poolOf } from '../database/pg-pool.js';
import type { Query } from '../outbox/outbox.queries.js';
import { didYouMean } from './did-you-mean.js';

/** Where the CLI writes, and the environment it reads (`DATABASE_URL`, `FLOWBUS_SCHEMA`). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const COMMANDS = ['up', 'status', 'sql'] as const;
type Command = (typeof COMMANDS)[number];
const OPTIONS = ['--schema', '--help'] as const;

export const USAGE = `Usage: flowbus-migrate [command] [--schema <name>]

Applies and inspects Flowbus's database migrations, for apps that run migrations themselves
(FlowbusModule.forRoot({ migrationsRun: false })).

Commands:
  up        apply the pending migrations (the default), in one transaction under an advisory lock
  status    list the migrations applied and pending
  sql       print the SQL that \`up\` runs, for a DBA to review or run with psql: the pending
            migrations when DATABASE_URL is set, all of them otherwise

Options:
  --schema <name>  schema of the flowbus_* tables (default: $FLOWBUS_SCHEMA, else public)
  -h, --help       show this help

Environment:
  DATABASE_URL     the PostgreSQL database, e.g. postgres://user:password@host:5432/db
                   (required by up and status)

Exit codes: 0 done, 1 failed, 2 bad usage.
`;

class UsageError extends Error {}

/**
 * `flowbus-migrate` as a function: parses `argv` (without node and the script), runs the command
 * and returns the exit code. The `flowbus-migrate` bin calls it with the process's streams.
 *
 * @internal
 */
export async function runMigrateCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: { command: Command; schema: string | undefined; help: boolean };
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`flowbus-migrate: ${error.message}\nRun flowbus-migrate --help for usage.\n`);
    return 2;
  }
  if (parsed.help) {
    io.stdout(USAGE);
    return 0;
  }
  let schema: string;
  try {
    schema = resolveOptions({ schema: parsed.schema ?? io.env.FLOWBUS_SCHEMA }).schema;
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error;
    io.stderr(`flowbus-migrate: ${error.message}\n`);
    return 2;
  }
  const url = io.env.DATABASE_URL;
  if (!url) {
    if (parsed.command === 'sql') {
      io.stdout(await migrationScript(schema));
      return 0;
    }
    io.stderr('flowbus-migrate: set DATABASE_URL to the PostgreSQL database to migrate\n');
    return 2;
  }
  let dataSource: DataSource | undefined;
  try {
    dataSource = await new DataSource({ type: 'postgres', url }).initialize();
    return await COMMAND_RUNNERS[parsed.command](dataSource, schema, io);
  } catch (error) {
    io.stderr(`flowbus-migrate: ${describeError(error)}\n`);
    return 1;
  } finally {
    await dataSource?.destroy();
  }
}

const COMMAND_RUNNERS: Record<Command, (ds: DataSource, schema: string, io: CliIo) => Promise<number>> = {
  async up(dataSource, schema, io) {
    const applied = await runMigrations(dataSource, schema, { log: false });
    io.stdout(
      applied.length > 0
        ? `flowbus-migrate: applied ${applied.join(', ')} in schema "${schema}"\n`
        : `flowbus-migrate: schema "${schema}" is up to date\n`,
    );
    return 0;
  },

  async status(dataSource, schema, io) {
    const status = await statusOf(dataSource, schema);
    const lines = [`flowbus-migrate: schema "${schema}"`];
    for (const m of status.applied) {
      const how = m.by === 'typeorm' ? 'by TypeORM' : m.appliedAt!.toISOString();
      lines.push(`  applied  ${m.id}  ${m.name}  ${how}`);
    }
    for (const m of status.pending) lines.push(`  pending  ${m.id}  ${m.name}`);
    lines.push(`${status.applied.length} applied, ${status.pending.length} pending`);
    io.stdout(`${lines.join('\n')}\n`);
    return 0;
  },

  async sql(dataSource, schema, io) {
    const { pending } = await statusOf(dataSource, schema);
    io.stdout(pending.length > 0 ? await migrationScript(schema, pending) : `-- schema "${schema}" is up to date\n`);
    return 0;
  },
};

function statusOf(dataSource: DataSource, schema: string) {
  const pool = poolOf(dataSource);
  return migrationStatus(
    async <T>(q: Query) => (await pool.query(q.text, q.values)).rows as T[],
    schema,
    typeormMigrationsTable(dataSource),
  );
}

function parse(argv: readonly string[]): { command: Command; schema: string | undefined; help: boolean } {
  let command: Command | undefined;
  let schema: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
    } else if (arg === '--schema' || arg.startsWith('--schema=')) {
      const value = arg === '--schema' ? argv[++i] : arg.slice('--schema='.length);
      if (value === undefined || value === '' || value.startsWith('-')) {
        throw new UsageError('--schema needs a value, e.g. --schema flowbus');
      }
      schema = value;
    } else if (arg.startsWith('-')) {
      const name = arg.split('=')[0]!;
      const hint = didYouMean(name, OPTIONS);
      throw new UsageError(`unknown option "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
    } else if (command === undefined && (COMMANDS as readonly string[]).includes(arg)) {
      command = arg as Command;
    } else if (command === undefined) {
      const hint = didYouMean(arg, COMMANDS);
      throw new UsageError(
        `unknown command "${arg}"${hint ? ` (did you mean "${hint}"?)` : ''}; commands: ${COMMANDS.join(', ')}`,
      );
    } else {
      throw new UsageError(`unexpected argument "${arg}" after the command "${command}"`);
    }
  }
  return { command: command ?? 'up', schema, help };
}
