import { escapeIdentifier } from 'pg';
import { FlowbusError } from './flowbus.error.js';

/**
 * A privilege the database role Flowbus runs as does not have. `table` is null for the schema's
 * USAGE; with `kind`, it names a sequence or a function (the log storage's) instead of a table.
 */
export interface MissingPrivilege {
  readonly schema: string;
  readonly table: string | null;
  readonly privilege: string;
  readonly kind?: 'sequence' | 'function';
}

/**
 * Thrown at bootstrap when the role Flowbus connects as lacks a privilege it needs on its schema
 * or tables; names each, with the GRANT statements that fix it (`grants`).
 */
export class MissingPrivilegesError extends FlowbusError {
  /** The statements a DBA can run to grant what is missing. */
  readonly grants: readonly string[];

  constructor(
    readonly role: string,
    readonly missing: readonly MissingPrivilege[],
  ) {
    const byObject = new Map<string, string[]>();
    for (const m of missing) {
      const object =
        m.table === null
          ? `SCHEMA ${escapeIdentifier(m.schema)}`
          : `${m.kind ? `${m.kind.toUpperCase()} ` : ''}${escapeIdentifier(m.schema)}.${escapeIdentifier(m.table)}`;
      byObject.set(object, [...(byObject.get(object) ?? []), m.privilege]);
    }
    const grants = [...byObject].map(
      ([object, privileges]) => `GRANT ${privileges.join(', ')} ON ${object} TO ${escapeIdentifier(role)};`,
    );
    const list = [...byObject].map(([object, privileges]) => `${privileges.join(', ')} on ${object}`).join('; ');
    super(
      'FLOWBUS_MISSING_PRIVILEGES',
      `Flowbus cannot run as database role "${role}": it lacks ${list}. ` +
        `Grant them (see "Grants" in the README): ${grants.join(' ')}`,
    );
    this.grants = grants;
  }
}
