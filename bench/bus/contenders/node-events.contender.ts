import { EventEmitter } from 'node:events';
import { bodyOf, syncBody, type BenchEvent } from '../workload.js';
import type { Contender, Setup } from './contender.interface.js';

/** Raw `node:events` `emit`: the floor. Nothing awaited, no isolation. */
export function nodeEvents(setup: Setup): Contender {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const body = bodyOf(setup.kind);
  for (let i = 0; i < setup.handlers; i++) emitter.on('BenchEvent', (event: BenchEvent) => body(event));
  for (let i = 0; i < setup.unrelated; i++) emitter.on(`OtherEvent${i}`, (event: BenchEvent) => syncBody(event));
  return {
    awaitable: false,
    publish: (event) => emitter.emit('BenchEvent', event),
    close: async () => undefined,
  };
}
