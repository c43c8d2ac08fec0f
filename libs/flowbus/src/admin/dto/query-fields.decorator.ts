import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { decodeCursor, type CursorList } from '../cursor.js';

/** Largest page a list returns. */
export const MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 50;
const MAX_TEXT = 200;
// PostgreSQL text cannot hold NUL: refuse it with a 400 instead of letting the driver fail.
// eslint-disable-next-line no-control-regex
const NO_NUL = /^[^\u0000]*$/;

/**
 * `limit`: an integer 1..500. Only a plain decimal string is converted, so "0x10", "1e2" or
 * "12abc" fail as "not an integer" instead of turning into a surprising number.
 */
export function PageLimit(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: Number,
      minimum: 1,
      maximum: MAX_LIMIT,
      default: DEFAULT_LIMIT,
      description: 'Page size',
    }),
    IsOptional(),
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && /^-?[0-9]{1,20}$/.test(value) ? Number(value) : value,
    ),
    IsInt(),
    Min(1),
    Max(MAX_LIMIT),
  );
}

/** `cursor`: the `nextCursor` of a previous page of the same list (`also`: other kinds it hands out). */
export function PageCursor(list: CursorList, ...also: CursorList[]): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: String, description: 'Opaque cursor: the nextCursor of the previous page' }),
    IsOptional(),
    ValidateBy({
      name: 'isFlowbusCursor',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && [list, ...also].some((l) => decodeCursor(l, value) !== undefined),
        defaultMessage: () => `cursor is not a cursor of the ${list} list (pass the nextCursor of a previous page)`,
      },
    }),
  );
}

/**
 * Optional, but not nullable: unlike `IsOptional()`, a JSON `null` is validated (and refused)
 * rather than skipped, so `{ "destination": null }` cannot pass for a filter.
 */
export function IsAbsentOr(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}

/** An exact-match text filter: 1..200 characters, no NUL (PostgreSQL text cannot hold one). */
export function TextFilter(description: string): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: String, minLength: 1, maxLength: MAX_TEXT, description }),
    IsAbsentOr(),
    IsString(),
    MinLength(1),
    MaxLength(MAX_TEXT),
    Matches(NO_NUL, { message: '$property must not contain NUL characters' }),
  );
}
