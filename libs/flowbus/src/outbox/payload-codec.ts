import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { EventClass } from '../bus/event-type.js';
import { FLOWBUS_RESOLVED_OPTIONS } from '../constants.js';
import type { ResolvedOptions } from '../options/resolved-options.interface.js';

type Rebuild = (type: EventClass, plain: object) => object;

/**
 * Applies the `serializer` option: the JSON form of payloads written to the outbox and timeout
 * rows, and the rebuilding of stored payloads into the subscriber's class. The default rebuild is
 * class-transformer's `plainToInstance`, loaded once at module init with a dynamic `import()`
 * (class-transformer is an optional peer: the core never imports it statically); without it, the
 * class's prototype with the stored fields.
 */
@Injectable()
export class PayloadCodec implements OnModuleInit {
  private readonly logger = new Logger('Flowbus:Payloads');
  private rebuild: Rebuild = withPrototype;

  constructor(@Inject(FLOWBUS_RESOLVED_OPTIONS) private readonly options: ResolvedOptions) {}

  async onModuleInit(): Promise<void> {
    const custom = this.options.serializer.deserialize;
    if (custom) {
      this.rebuild = custom;
      return;
    }
    const plainToInstance = await loadPlainToInstance();
    if (plainToInstance) {
      this.rebuild = (type, plain) => plainToInstance(type as new () => object, plain);
    } else {
      this.logger.log(
        'class-transformer is not installed: durable payloads are rebuilt with their class prototype only ' +
          '(Dates stay ISO strings, nested objects stay plain); install it or set the `serializer` option',
      );
    }
  }

  /** The JSON text of `payload` as stored; throws what JSON.stringify or the serializer throws. */
  stringify(payload: unknown): string | undefined {
    const serialize = this.options.serializer.serialize;
    return JSON.stringify(serialize ? serialize(payload) : payload);
  }

  /** `plain` as an instance of `type` when both make sense; anything else as it is. */
  revive(type: EventClass | undefined, plain: unknown): unknown {
    if (!type || typeof plain !== 'object' || plain === null || Array.isArray(plain)) return plain;
    return this.rebuild(type, plain);
  }
}

function withPrototype(type: EventClass, plain: object): object {
  return Object.assign(Object.create(type.prototype as object) as object, plain);
}

type PlainToInstance = (cls: new () => object, plain: object) => object;

async function loadPlainToInstance(): Promise<PlainToInstance | undefined> {
  try {
    const mod = (await import('class-transformer')) as {
      plainToInstance?: unknown;
      default?: { plainToInstance?: unknown };
    };
    // A CommonJS package: named export under Node, `default` under some loaders.
    const fn = mod.plainToInstance ?? mod.default?.plainToInstance;
    return typeof fn === 'function' ? (fn as PlainToInstance) : undefined;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}
