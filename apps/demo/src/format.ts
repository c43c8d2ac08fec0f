/** The first 8 characters of an id, for log lines. */
export function short(id: string): string {
  return id.slice(0, 8);
}

export function money(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
