import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { ConfigurationError } from '../errors/configuration.error.js';
import { decoratedClasses } from './decorated-classes.js';

/** A provider method carrying some Flowbus metadata. */
export interface DecoratedMethod<M> {
  readonly instance: object;
  readonly className: string;
  readonly methodName: string;
  readonly metadata: M;
}

/** A provider class carrying some Flowbus metadata. */
export interface DecoratedClass<M> {
  readonly instance: object;
  readonly className: string;
  readonly metadata: M;
}

interface ProviderEntry {
  wrapper: InstanceWrapper;
  prototype: object;
  instance: object | undefined;
  className: string;
}

/**
 * Walks the app's providers and returns the methods or classes carrying a metadata key. Aliases
 * are skipped and each instance is visited once. Decorated code on a provider that is not a
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
    for (const p of this.providers()) {
      for (const methodName of this.scanner.getAllMethodNames(p.prototype)) {
        const method = (p.prototype as Record<string, unknown>)[methodName];
        const metadata =
          typeof method === 'function' ? (Reflect.getMetadata(metadataKey, method) as M | undefined) : undefined;
        if (metadata === undefined) continue;
        const instance = singleton(p, `${p.className}.${methodName} is a Flowbus handler`);
        if (instance) found.push({ instance, className: p.className, methodName, metadata });
      }
    }
    return found;
  }

  findClasses<M>(metadataKey: string): DecoratedClass<M>[] {
    const found: DecoratedClass<M>[] = [];
    for (const p of this.providers()) {
      const metadata = Reflect.getMetadata(metadataKey, p.prototype.constructor) as M | undefined;
      if (metadata === undefined) continue;
      const instance = singleton(p, `${p.className} is a Flowbus saga`);
      if (instance) found.push({ instance, className: p.className, metadata });
    }
    return found;
  }

  /**
   * Classes carrying a Flowbus decorator (imported, so decorated) that no provider is an instance
   * of: their handlers and steps are never discovered. A provider of a subclass counts.
   */
  unregisteredDecoratedClasses(): { className: string; decorator: string }[] {
    const prototypes: object[] = [];
    for (const p of this.providers()) prototypes.push(p.prototype);
    const missing: { className: string; decorator: string }[] = [];
    for (const [cls, decorator] of decoratedClasses()) {
      const proto = cls.prototype as object;
      if (!prototypes.some((p) => p === proto || Object.prototype.isPrototypeOf.call(proto, p))) {
        missing.push({ className: cls.name, decorator });
      }
    }
    return missing;
  }

  private *providers(): Generator<ProviderEntry> {
    const seen = new Set<object>();
    for (const wrapper of this.discovery.getProviders()) {
      if (wrapper.isAlias) continue;
      const prototype = prototypeOf(wrapper);
      // The same instance can be registered under several tokens (useValue, useExisting).
      const instance = wrapper.instance as object | undefined;
      if (!prototype || (instance && seen.has(instance))) continue;
      if (instance) seen.add(instance);
      const className = (prototype.constructor as { name?: string }).name ?? String(wrapper.name);
      yield { wrapper, prototype, instance, className };
    }
  }
}

function singleton(p: ProviderEntry, what: string): object | undefined {
  if (!p.wrapper.isDependencyTreeStatic() || p.wrapper.isTransient) {
    throw new ConfigurationError(
      `${what} on a ${p.wrapper.isTransient ? 'transient' : 'request-scoped'} provider; ` +
        'handlers, saga steps and sagas must live on singleton (default-scope) providers, because events arrive outside any request',
    );
  }
  return p.instance;
}

function prototypeOf(wrapper: InstanceWrapper): object | undefined {
  const instance = wrapper.instance as object | undefined;
  if (instance && typeof instance === 'object') return Object.getPrototypeOf(instance) as object;
  const metatype = wrapper.metatype as { prototype?: object } | null;
  return wrapper.inject ? undefined : metatype?.prototype;
}
