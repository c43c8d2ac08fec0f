import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { ConfigurationError } from '../errors/configuration.error.js';

/** A provider method carrying some Flowbus metadata. */
export interface DecoratedMethod<M> {
  readonly instance: object;
  readonly className: string;
  readonly methodName: string;
  readonly metadata: M;
}

/**
 * Walks the app's providers once and returns the methods carrying `metadataKey`. Aliases are
 * skipped and each instance is visited once. A decorated method on a provider that is not a
 * singleton is a start-up error: there is no request to build it for when an event arrives.
 */
@Injectable()
export class DecoratedMethods {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  find<M>(metadataKey: string): DecoratedMethod<M>[] {
    const found: DecoratedMethod<M>[] = [];
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      if (wrapper.isAlias) continue;
      const prototype = prototypeOf(wrapper);
      // The same instance can be registered under several tokens (useValue, useExisting).
      const instance = wrapper.instance as object | undefined;
      if (!prototype || (instance && seen.has(instance))) continue;
      if (instance) seen.add(instance);
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = (prototype as Record<string, unknown>)[methodName];
        const metadata = typeof method === 'function' ? (Reflect.getMetadata(metadataKey, method) as M | undefined) : undefined;
        if (metadata === undefined) continue;
        const className = (prototype.constructor as { name?: string }).name ?? String(wrapper.name);
        if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
          throw new ConfigurationError(
            `${className}.${methodName} is a Flowbus handler on a ${wrapper.isTransient ? 'transient' : 'request-scoped'} provider; ` +
              'handlers, saga steps and sagas must live on singleton (default-scope) providers, because events arrive outside any request',
          );
        }
        if (!instance) continue;
        found.push({ instance, className, methodName, metadata });
      }
    }
    return found;
  }
}

function prototypeOf(wrapper: InstanceWrapper): object | undefined {
  const instance = wrapper.instance as object | undefined;
  if (instance && typeof instance === 'object') return Object.getPrototypeOf(instance) as object;
  const metatype = wrapper.metatype as { prototype?: object } | null;
  return wrapper.inject ? undefined : metatype?.prototype;
}
