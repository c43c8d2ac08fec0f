import type { DrainSpec } from '../plan.js';
import type { DrainContender } from './contender.interface.js';
import { flowbusContender } from './flowbus.contender.js';
import { graphileWorkerContender } from './graphile-worker.contender.js';
import { pgBossContender } from './pg-boss.contender.js';
import { rawPgContender } from './raw-pg.contender.js';

export function contenderFor(spec: DrainSpec, url: string): DrainContender {
  switch (spec.kind) {
    case 'flowbus':
      return flowbusContender(spec, url);
    case 'raw-pg':
      return rawPgContender(spec);
    case 'graphile-worker':
      return graphileWorkerContender(spec);
    case 'pg-boss':
      return pgBossContender(spec, url);
  }
}
