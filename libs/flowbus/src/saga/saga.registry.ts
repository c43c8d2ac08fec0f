import { Injectable } from '@nestjs/common';
import type { SagaDefinition } from './saga-definition.js';

/** The sagas discovered at start-up, by name. */
@Injectable()
export class SagaRegistry {
  private readonly sagas = new Map<string, SagaDefinition>();

  add(saga: SagaDefinition): void {
    this.sagas.set(saga.name, saga);
  }

  get(name: string): SagaDefinition | undefined {
    return this.sagas.get(name);
  }

  all(): SagaDefinition[] {
    return [...this.sagas.values()];
  }

  names(): string[] {
    return [...this.sagas.keys()];
  }
}
