import { describe, expect, it } from '@jest/globals';
import { BadRequestException } from '@nestjs/common';
import { InputShapePipe, MAX_INPUT_DEPTH } from './input-shape.pipe.js';

const pipe = new InputShapePipe();
const body = { type: 'body' as const };

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function refusal(value: unknown, type: 'body' | 'query' = 'body'): string {
  try {
    pipe.transform(value, { type });
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return [(error as BadRequestException).getResponse() as { message: string[] }][0]!.message.join('; ');
  }
  throw new Error('not refused');
}

describe('InputShapePipe', () => {
  it('passes input up to the depth limit unchanged', () => {
    const value = nested(MAX_INPUT_DEPTH);
    expect(pipe.transform(value, body)).toBe(value);
    expect(pipe.transform({ ids: ['a', 'b'] }, body)).toEqual({ ids: ['a', 'b'] });
  });

  it('refuses deeper input without recursing, however deep', () => {
    expect(refusal(nested(MAX_INPUT_DEPTH + 1))).toBe(`request body is nested deeper than ${MAX_INPUT_DEPTH} levels`);
    expect(refusal(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toMatch(/nested deeper/);
  });

  it('refuses prototype keys at any depth, as own keys from JSON.parse', () => {
    expect(refusal(JSON.parse('{"__proto__":{"destination":"x"}}'))).toBe('property __proto__ should not exist');
    expect(refusal({ a: [{ constructor: 1 }] })).toBe('property a.0.constructor should not exist');
    expect(refusal({ prototype: 'x' }, 'query')).toBe('property prototype should not exist');
  });

  it('leaves route parameters alone', () => {
    expect(pipe.transform('constructor', { type: 'param' })).toBe('constructor');
  });
});
