/** LISTEN/NOTIFY channel of a schema's outbox. */
export function notifyChannel(schema: string): string {
  return `flowbus_outbox_${schema}`;
}
