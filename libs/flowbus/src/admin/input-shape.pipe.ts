import { BadRequestException, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';

/** Deepest nesting of objects and arrays an admin body or query may have (the DTOs need 2). */
export const MAX_INPUT_DEPTH = 32;

/**
 * Keys that class-transformer skips instead of reporting, so the whitelist never sees them: with
 * them refused here, they get the same 400 as every other unknown key.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Runs before the admin ValidationPipe on bodies and queries: refuses input nested deeper than
 * MAX_INPUT_DEPTH (class-transformer recurses once per level, and a 30 KB body of 5,000 nested
 * objects overflowed the stack: a 500) and prototype keys at any depth. Walks iteratively, so
 * however deep the input, this cannot overflow either.
 */
@Injectable()
export class InputShapePipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' && metadata.type !== 'query') return value;
    const stack: { node: unknown; depth: number; path: string }[] = [{ node: value, depth: 0, path: '' }];
    while (stack.length > 0) {
      const { node, depth, path } = stack.pop()!;
      if (typeof node !== 'object' || node === null) continue;
      if (depth >= MAX_INPUT_DEPTH) {
        throw new BadRequestException([`request ${metadata.type} is nested deeper than ${MAX_INPUT_DEPTH} levels`]);
      }
      for (const key of Object.keys(node)) {
        const child = path === '' ? key : `${path}.${key}`;
        if (FORBIDDEN_KEYS.has(key)) throw new BadRequestException([`property ${child} should not exist`]);
        stack.push({ node: (node as Record<string, unknown>)[key], depth: depth + 1, path: child });
      }
    }
    return value;
  }
}
