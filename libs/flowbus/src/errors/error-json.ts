/**
 * A JSON-safe view of a thrown value: an `Error`'s own fields are not enumerable, so
 * `JSON.stringify(error)` gives `{}`; this keeps `name`, `message` and a `code` if it has one.
 * Other values are kept when JSON can carry them, else given as their string form.
 */
export function errorJson(error: unknown): unknown {
  if (error instanceof Error) {
    const json: { name: string; message: string; code?: string | number } = {
      name: error.name,
      message: error.message,
    };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') json.code = code;
    return json;
  }
  if (error === undefined || typeof error === 'function' || typeof error === 'symbol') return String(error);
  try {
    return JSON.parse(JSON.stringify(error)) as unknown;
  } catch {
    // Cyclic or BigInt: JSON cannot carry it.
    return String(error);
  }
}
