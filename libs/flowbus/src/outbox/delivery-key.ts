/**
 * A row of `flowbus_outbox` (and of `flowbus_dead_letter`) is one delivery: a message to one
 * subscriber, keyed by (message id, subscriber) since 0006. The relay tracks the rows it holds by
 * one string, the uuid (always 36 characters) followed by the subscriber name.
 * @internal
 */
export function deliveryKey(row: { id: string; subscriber: string }): string {
  return row.id + row.subscriber;
}

/** The ids and subscribers of `keys`, as the parallel arrays the queries unnest. */
export function splitDeliveryKeys(keys: readonly string[]): { ids: string[]; subscribers: string[] } {
  return { ids: keys.map((k) => k.slice(0, 36)), subscribers: keys.map((k) => k.slice(36)) };
}
