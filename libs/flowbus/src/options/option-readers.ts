import { InvalidOptionsError } from '../errors/invalid-options.error.js';

/** Small readers that validate one option each and name it on failure. */

type Obj = Record<string, unknown>;

export function section(value: unknown, field: string): Obj {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionsError(field, `must be an object, got ${typeName(value)}`);
  }
  return value as Obj;
}

/** Rejects keys the section does not know, suggesting the closest known one (typo guard). */
export function onlyKnownKeys(obj: Obj, prefix: string, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const hint = known.find((k) => k.toLowerCase() === key.toLowerCase());
    throw new InvalidOptionsError(
      join(prefix, key),
      `unknown option${hint ? ` (did you mean "${hint}"?)` : `; known: ${known.join(', ')}`}`,
    );
  }
}

export interface NumberRule {
  min?: number;
  max?: number;
  integer?: boolean;
}

export function num(value: unknown, field: string, fallback: number, rule: NumberRule = {}): number {
  if (value === undefined) return fallback;
  return requiredNum(value, field, rule);
}

export function optionalNum(value: unknown, field: string, rule: NumberRule = {}): number | undefined {
  return value === undefined ? undefined : requiredNum(value, field, rule);
}

function requiredNum(value: unknown, field: string, rule: NumberRule): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidOptionsError(field, `must be a finite number, got ${typeName(value)}`);
  }
  if (rule.integer && !Number.isInteger(value)) {
    throw new InvalidOptionsError(field, `must be an integer, got ${value}`);
  }
  if (rule.min !== undefined && value < rule.min) {
    throw new InvalidOptionsError(field, `must be >= ${rule.min}, got ${value}`);
  }
  if (rule.max !== undefined && value > rule.max) {
    throw new InvalidOptionsError(field, `must be <= ${rule.max}, got ${value}`);
  }
  return value;
}

export function bool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new InvalidOptionsError(field, `must be true or false, got ${typeName(value)}`);
  }
  return value;
}

export function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new InvalidOptionsError(
      field,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${typeName(value)}`,
    );
  }
  return value as T;
}

export function str(value: unknown, field: string, fallback: string, pattern?: RegExp): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionsError(field, `must be a non-empty string, got ${typeName(value)}`);
  }
  if (pattern && !pattern.test(value)) {
    throw new InvalidOptionsError(field, `must match ${String(pattern)}, got "${value}"`);
  }
  return value;
}

export function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
