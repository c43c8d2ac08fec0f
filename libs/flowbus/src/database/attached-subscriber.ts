import type { DataSource, EntitySubscriberInterface } from 'typeorm';

/**
 * A TypeORM entity subscriber (transaction and query events) added to each DataSource it is
 * asked to watch, once, and removed from all of them when the module is destroyed: Flowbus hooks
 * the app's DataSource without registering anything in its configuration.
 * @internal
 */
export class AttachedSubscriber {
  private readonly watched = new Set<DataSource>();

  constructor(private readonly subscriber: EntitySubscriberInterface) {}

  watch(dataSource: DataSource): void {
    if (this.watched.has(dataSource)) return;
    this.watched.add(dataSource);
    (dataSource.subscribers as EntitySubscriberInterface[]).push(this.subscriber);
  }

  detach(): void {
    for (const dataSource of this.watched) {
      const list = dataSource.subscribers as EntitySubscriberInterface[];
      const at = list.indexOf(this.subscriber);
      if (at >= 0) list.splice(at, 1);
    }
    this.watched.clear();
  }
}
