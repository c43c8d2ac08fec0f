// A scratch app's Flowbus wiring, compiled by test/packaging/run.mjs in a fresh ESM app and a fresh
// CommonJS app that install the packed tarball: a durable handler, a message through the outbox.
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FlowbusModule, HandleEvent, OutboxService } from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';

export class PackageChecked {
  constructor(readonly runId: string) {}
}

@Injectable()
export class CheckReceiver {
  readonly received: string[] = [];

  @HandleEvent(PackageChecked, { durable: true })
  onChecked(event: PackageChecked): void {
    this.received.push(event.runId);
  }
}

/** TypeORM on DATABASE_URL, and Flowbus on the DataSource it provides. */
export function flowbusImports(databaseUrl: string) {
  return [
    TypeOrmModule.forRoot({ type: 'postgres', url: databaseUrl }),
    FlowbusModule.forRoot({ relay: { pollIntervalMs: 100 } }),
  ];
}

/** Writes an event to the outbox in a transaction and waits for the relay to deliver it. */
export async function checkDelivery(app: INestApplicationContext): Promise<void> {
  const outbox = app.get(OutboxService);
  const runId = `run-${process.pid}-${Date.now()}`;
  await outbox.transaction((manager) => outbox.publish(manager, new PackageChecked(runId)));
  const receiver = app.get(CheckReceiver);
  await waitFor(() => receiver.received.includes(runId), { timeoutMs: 20_000, message: 'delivery through the relay' });
}
