import { escapeIdentifier, escapeLiteral } from 'pg';
import { quoteSchema, table } from '../database/sql-identifiers.js';
import type { Query } from '../outbox/outbox.queries.js';

/** Serialises migration runs on one schema: instances starting together do not race. */
export function lockMigrations(schema: string): Query {
  // Values inlined here and below: `flowbus-migrate sql` prints these statements as they are.
  return {
    text: `SELECT pg_advisory_xact_lock(hashtext(${escapeLiteral(`flowbus:migrations:${schema}`)}))`,
    values: [],
  };
}

export function createSchema(schema: string): Query {
  return { text: `CREATE SCHEMA IF NOT EXISTS ${quoteSchema(schema)}`, values: [] };
}

export function createMigrationsTable(schema: string): Query {
  return {
    text: `CREATE TABLE IF NOT EXISTS ${table(schema, 'flowbus_migrations')} (
  id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    values: [],
  };
}

export function appliedMigrations(schema: string): Query {
  return { text: `SELECT id, name, applied_at FROM ${table(schema, 'flowbus_migrations')} ORDER BY id`, values: [] };
}

/** Records an applied migration. */
export function recordMigration(schema: string, migration: { id: number; name: string }): Query {
  if (!Number.isInteger(migration.id)) throw new Error(`Bad migration id: ${migration.id}`);
  return {
    text: `INSERT INTO ${table(schema, 'flowbus_migrations')} (id, name) VALUES (${migration.id}, ${escapeLiteral(migration.name)})`,
    values: [],
  };
}

/**
 * Whether the schema exists and the current role may use it, and which of `tables` exist in it
 * and are readable. Reads the catalogs by name, without casting to regclass: resolving a
 * qualified name needs USAGE on its schema and would fail with "permission denied" before the
 * question is even asked.
 */
export function schemaAccess(schema: string, tables: readonly string[]): Query {
  return {
    text: `SELECT current_user::text AS role, n.oid IS NOT NULL AS exists,
  COALESCE(has_schema_privilege(n.oid, 'USAGE'), false) AS usage,
  COALESCE((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
    WHERE c.relnamespace = n.oid AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')), '{}') AS tables,
  COALESCE((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
    WHERE c.relnamespace = n.oid AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
      AND has_table_privilege(c.oid, 'SELECT')), '{}') AS readable
FROM (SELECT $1::text AS name) wanted LEFT JOIN pg_namespace n ON n.nspname = wanted.name`,
    values: [schema, tables],
  };
}

/** The (table, privilege) pairs of `required` the current role lacks on existing tables of `schema`. */
/** A privilege on a table, or (`kind`) on a sequence or a function (every overload of the name). */
export interface PrivilegeOn {
  table: string;
  privilege: string;
  kind?: 'sequence' | 'function';
}

export function missingPrivileges(schema: string, required: readonly PrivilegeOn[]): Query {
  return {
    text: `SELECT r.tbl AS table, r.priv AS privilege, NULLIF(r.kind, 'table') AS kind
FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS r(tbl, priv, kind, ord)
JOIN pg_namespace n ON n.nspname = $1
WHERE CASE r.kind
  WHEN 'function' THEN EXISTS (SELECT 1 FROM pg_proc p
    WHERE p.pronamespace = n.oid AND p.proname = r.tbl AND NOT has_function_privilege(p.oid, r.priv))
  WHEN 'sequence' THEN EXISTS (SELECT 1 FROM pg_class c
    WHERE c.relnamespace = n.oid AND c.relname = r.tbl AND NOT has_sequence_privilege(c.oid, r.priv))
  ELSE EXISTS (SELECT 1 FROM pg_class c
    WHERE c.relnamespace = n.oid AND c.relname = r.tbl AND NOT has_table_privilege(c.oid, r.priv))
END
ORDER BY r.ord`,
    values: [
      schema,
      required.map((r) => r.table),
      required.map((r) => r.privilege),
      required.map((r) => r.kind ?? 'table'),
    ],
  };
}

/**
 * Names recorded by TypeORM's own migration runner (for apps that run `flowbusMigrations()` with
 * their TypeORM migrations), or no rows when its table does not exist. `migrationsTable` is the
 * DataSource's `migrationsTableName`, qualified by its `schema` option when set.
 */
export function typeormMigrationNames(migrationsTable: string, schema: string | undefined, names: string[]): Query {
  const qualified = (schema ? `${escapeIdentifier(schema)}.` : '') + escapeIdentifier(migrationsTable);
  return { text: `SELECT name FROM ${qualified} WHERE name = ANY($1::text[])`, values: [names] };
}

/**
 * Whether TypeORM's migrations table exists and this role may read it: looked up in the catalogs
 * (in `schema`, else on the search path), because `to_regclass` raises "permission denied" for a
 * schema the role may not use, which would abort the transaction it runs in.
 */
export function typeormMigrationsTableReadable(migrationsTable: string, schema: string | undefined): Query {
  return {
    text: `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relname = $1 AND c.relkind IN ('r', 'p')
    AND CASE WHEN $2::text IS NULL THEN n.nspname = ANY(current_schemas(false)) ELSE n.nspname = $2 END
    AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')) AS readable`,
    values: [migrationsTable, schema ?? null],
  };
}
