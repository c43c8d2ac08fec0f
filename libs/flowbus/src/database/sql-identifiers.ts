/**
 * Quoting of the configurable schema. The schema is validated by `resolveOptions` against
 * /^[a-z_][a-z0-9_]{0,62}$/ before it gets here, so quoting cannot be escaped; the check is
 * repeated because a wrong identifier would otherwise become SQL.
 */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteSchema(schema: string): string {
  if (!IDENTIFIER.test(schema)) throw new Error(`Unsafe schema name: ${schema}`);
  return `"${schema}"`;
}

/** Qualified, quoted name of a Flowbus table, e.g. `"public"."flowbus_outbox"`. */
export function table(schema: string, name: string): string {
  return `${quoteSchema(schema)}."${name}"`;
}
