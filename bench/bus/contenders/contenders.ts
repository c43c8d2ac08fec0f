import type { Contender, Setup } from './contender.interface.js';

/** A bus under test, as named in the tables. */
export interface ContenderSpec {
  readonly id: string;
  /** Column heading. */
  readonly label: string;
  /** How a publish is known to be done: awaited, or counted in the handlers. */
  readonly completion: 'awaited' | 'counted';
  readonly needsDatabase: boolean;
  /** Loaded in the child only, so a child imports nothing but the bus it measures. */
  readonly create: (setup: Setup) => Promise<Contender>;
}

export const CONTENDERS: readonly ContenderSpec[] = [
  {
    id: 'flowbus',
    label: 'Flowbus await publish, full isolation',
    completion: 'awaited',
    needsDatabase: true,
    create: async (s) => (await import('./flowbus.contender.js')).flowbus(s, 'full'),
  },
  {
    id: 'flowbus-default',
    label: 'Flowbus await publish, defaults',
    completion: 'awaited',
    needsDatabase: true,
    create: async (s) => (await import('./flowbus.contender.js')).flowbus(s, 'default'),
  },
  {
    id: 'countdown',
    label: 'hand-written countdown join',
    completion: 'awaited',
    needsDatabase: false,
    create: async (s) => (await import('./countdown.contender.js')).countdown(s),
  },
  {
    id: 'node-events',
    label: 'node:events emit',
    completion: 'counted',
    needsDatabase: false,
    create: async (s) => (await import('./node-events.contender.js')).nodeEvents(s),
  },
  {
    id: 'ee-emitAsync',
    label: 'event-emitter await emitAsync',
    completion: 'awaited',
    needsDatabase: false,
    create: async (s) => (await import('./event-emitter.contender.js')).eventEmitter(s, 'emitAsync'),
  },
  {
    id: 'ee-emit',
    label: 'event-emitter emit',
    completion: 'counted',
    needsDatabase: false,
    create: async (s) => (await import('./event-emitter.contender.js')).eventEmitter(s, 'emit'),
  },
  {
    id: 'cqrs',
    label: 'cqrs publish',
    completion: 'counted',
    needsDatabase: false,
    create: async (s) => (await import('./cqrs.contender.js')).cqrs(s),
  },
];

/** The contender every ratio is computed against. */
export const REFERENCE = 'flowbus';

export function contenderById(id: string): ContenderSpec {
  const spec = CONTENDERS.find((c) => c.id === id);
  if (!spec) throw new Error(`Unknown contender ${id}; known: ${CONTENDERS.map((c) => c.id).join(', ')}`);
  return spec;
}
