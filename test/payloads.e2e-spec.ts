import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  EventBus,
  HandleEvent,
  OnTimeout,
  OutboxService,
  Saga,
  SagaService,
  SagaStep,
  type FlowbusOptions,
  type SagaContext,
} from 'nestjs-flowbus';
import { waitFor } from 'nestjs-flowbus/testing';
import { createFlowbusApp, writtenRows } from './support/app.js';
import { useTestDatabase } from './support/database.js';

// An event with a Date, a nested class and an array of classes (class-transformer's @Type()).
class Address {
  city!: string;
  label() {
    return `city:${this.city}`;
  }
}

class Line {
  sku!: string;
  qty!: number;
  @Type(() => Date)
  reservedAt!: Date;
  describe() {
    return `${this.qty}x${this.sku}`;
  }
}

class OrderPlaced {
  orderId!: string;
  @Type(() => Date)
  placedAt!: Date;
  @Type(() => Address)
  address!: Address;
  @Type(() => Line)
  lines!: Line[];

  static of(orderId: string, placedAt: Date): OrderPlaced {
    return Object.assign(new OrderPlaced(), {
      orderId,
      placedAt,
      address: Object.assign(new Address(), { city: 'Lyon' }),
      lines: [Object.assign(new Line(), { sku: 'A', qty: 2, reservedAt: new Date(placedAt.getTime() + 1000) })],
    });
  }
}

class PaymentDue {
  orderId!: string;
  @Type(() => Date)
  dueAt!: Date;
  @Type(() => Line)
  lines!: Line[];
}

class Note {
  text!: string;
  shout() {
    return this.text.toUpperCase();
  }
}

/** What a receiver saw, checked by shape rather than trusting the receiver. */
interface Seen {
  path: string;
  isInstance: boolean;
  dateOk: boolean;
  nestedOk: boolean;
  arrayOk: boolean;
  summary: string;
}

const seen: Seen[] = [];

function inspect(path: string, e: OrderPlaced): void {
  const line = e.lines?.[0];
  seen.push({
    path,
    isInstance: e instanceof OrderPlaced,
    dateOk: e.placedAt instanceof Date && e.placedAt.getTime() === Date.UTC(2026, 0, 2, 3, 4, 5),
    nestedOk: e.address instanceof Address && e.address.label() === 'city:Lyon',
    arrayOk:
      line instanceof Line &&
      line.reservedAt instanceof Date &&
      line.reservedAt.getTime() === e.placedAt.getTime() + 1000,
    summary: line instanceof Line ? line.describe() : 'plain',
  });
}

const PLACED_AT = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
const notes: unknown[] = [];

@Injectable()
class Receivers {
  @HandleEvent(OrderPlaced)
  inProcess(e: OrderPlaced) {
    inspect('bus', e);
  }

  @HandleEvent(OrderPlaced, { durable: true })
  durable(e: OrderPlaced) {
    inspect('outbox', e);
  }

  @HandleEvent(Note, { durable: true })
  note(n: Note | string) {
    notes.push(typeof n === 'string' ? n : { instance: n instanceof Note, shout: n.shout() });
  }
}

@Saga({ name: 'payload-saga' })
class PayloadSaga {
  @SagaStep(OrderPlaced, { start: true, correlate: (e) => e.orderId })
  placed(e: OrderPlaced, ctx: SagaContext) {
    inspect(`saga-step:${ctx.isNew ? 'new' : 'again'}`, e);
    const due = Object.assign(new PaymentDue(), { orderId: e.orderId, dueAt: e.placedAt, lines: e.lines });
    ctx.scheduleTimeout(due, 1);
  }

  @OnTimeout(PaymentDue)
  due(t: PaymentDue, ctx: SagaContext) {
    seen.push({
      path: 'timeout',
      isInstance: t instanceof PaymentDue,
      dateOk: t.dueAt instanceof Date && t.dueAt.getTime() === PLACED_AT.getTime(),
      nestedOk: true,
      arrayOk: t.lines[0] instanceof Line && t.lines[0].reservedAt instanceof Date,
      summary: t.lines[0] instanceof Line ? t.lines[0].describe() : 'plain',
    });
    ctx.complete();
  }
}

const testDb = useTestDatabase();
let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  seen.length = 0;
  notes.length = 0;
});

async function start(options: Omit<FlowbusOptions, 'dataSource'> = {}, providers = [Receivers, PayloadSaga]) {
  app = await createFlowbusApp({
    dataSource: testDb.ds,
    providers,
    options: { relay: { pollIntervalMs: 50, listen: false }, timeouts: { pollIntervalMs: 50 }, ...options },
  });
  return app;
}

const ok = { isInstance: true, dateOk: true, nestedOk: true, arrayOk: true, summary: '2xA' };

describe('payloads on durable paths are rebuilt as on the bus', () => {
  it('hands the durable handler, the saga step (outbox) and the timeout class instances with Dates, nested classes and arrays of classes', async () => {
    const a = await start();
    const outbox = a.get(OutboxService);
    await outbox.transaction((m) => outbox.publish(m, OrderPlaced.of('o-1', PLACED_AT)));
    await waitFor(() => seen.some((s) => s.path === 'timeout'), { message: 'the timeout to fire' });
    await waitFor(() => seen.some((s) => s.path === 'outbox'));
    expect(seen.find((s) => s.path === 'outbox')).toEqual({ path: 'outbox', ...ok });
    expect(seen.find((s) => s.path === 'saga-step:new')).toEqual({ path: 'saga-step:new', ...ok });
    expect(seen.find((s) => s.path === 'timeout')).toEqual({ path: 'timeout', ...ok, nestedOk: true });
    // The timeout handler ran; its step commits right after.
    await waitFor(async () => (await a.get(SagaService).find('payload-saga', 'o-1'))?.status === 'completed');
  });

  it('gives the bus path the original instance, as before', async () => {
    const a = await start();
    await a.get(EventBus).publish(OrderPlaced.of('o-2', PLACED_AT));
    expect(seen.find((s) => s.path === 'bus')).toEqual({ path: 'bus', ...ok });
  });

  it('keeps payloads that are not class instances working: plain objects become the class, others stay as they are', async () => {
    const a = await start();
    const outbox = a.get(OutboxService);
    await outbox.transaction((m) =>
      outbox.enqueue(m, [
        { destination: 'local', type: 'Note', payload: { text: 'plain object' } },
        { destination: 'local', type: 'Note', payload: 'just a string' },
      ]),
    );
    await waitFor(() => notes.length === 2);
    expect(notes).toEqual(expect.arrayContaining([{ instance: true, shout: 'PLAIN OBJECT' }, 'just a string']));
  });

  it('uses the serializer option when given, for writing and for rebuilding', async () => {
    const calls: string[] = [];
    const a = await start({
      serializer: {
        serialize: (payload) => ({ wrapped: JSON.parse(JSON.stringify(payload)) as unknown }),
        deserialize: (type, plain) => {
          calls.push(type.name);
          return Object.assign(
            Object.create(type.prototype as object) as object,
            (plain as { wrapped: object }).wrapped,
          );
        },
      },
    });
    const outbox = a.get(OutboxService);
    const [id] = await outbox.transaction((m) =>
      outbox.enqueue(m, { destination: 'local', type: 'Note', payload: { text: 'custom' } }),
    );
    expect((await testDb.ds.query(`SELECT payload FROM ${writtenRows.table} WHERE id = $1`, [id]))[0].payload).toEqual({
      wrapped: { text: 'custom' },
    });
    await waitFor(() => notes.length === 1);
    expect(notes).toEqual([{ instance: true, shout: 'CUSTOM' }]);
    expect(calls).toEqual(['Note']);
  });

  it('refuses a serializer that is not made of functions, naming the field', async () => {
    await expect(start({ serializer: { deserialize: 'nope' as never } })).rejects.toThrow('serializer.deserialize');
  });
});
