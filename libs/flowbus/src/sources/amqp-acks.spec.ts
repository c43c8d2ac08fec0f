import { describe, expect, it } from '@jest/globals';
import { AmqpAcks } from './amqp-acks.js';

/** The frames an AmqpAcks sent, as `tag` or `tag+` (multiple), after the microtask it waits for. */
async function frames(work: (acks: AmqpAcks<number>) => void): Promise<string[]> {
  const sent: string[] = [];
  const acks = new AmqpAcks<number>(
    (tag, multiple) => sent.push(multiple ? `${tag}+` : `${tag}`),
    (tag) => tag,
  );
  work(acks);
  await Promise.resolve();
  return sent;
}

describe('AmqpAcks', () => {
  it('acks a stored batch with one multiple ack', async () => {
    expect(
      await frames((acks) => {
        for (let tag = 1; tag <= 500; tag++) acks.delivered(tag);
        for (let tag = 1; tag <= 500; tag++) acks.ack(tag);
      }),
    ).toEqual(['500+']);
  });

  it('never passes over a delivery still held: what follows it is acked alone', async () => {
    expect(
      await frames((acks) => {
        for (let tag = 1; tag <= 5; tag++) acks.delivered(tag);
        acks.ack(1);
        acks.ack(2);
        acks.ack(4);
        acks.ack(5);
      }),
    ).toEqual(['2+', '4', '5']);
  });

  it('passes over rejected deliveries (their nack went out first) but not past the last ack', async () => {
    expect(
      await frames((acks) => {
        for (let tag = 1; tag <= 4; tag++) acks.delivered(tag);
        acks.ack(1);
        acks.rejected(2);
        acks.ack(3);
        acks.rejected(4);
      }),
    ).toEqual(['3+']);
  });

  it('acks nothing twice once the held delivery is settled', async () => {
    const sent: string[] = [];
    const acks = new AmqpAcks<number>(
      (tag, multiple) => sent.push(multiple ? `${tag}+` : `${tag}`),
      (tag) => tag,
    );
    for (let tag = 1; tag <= 3; tag++) acks.delivered(tag);
    acks.ack(2);
    acks.ack(3);
    await Promise.resolve();
    acks.ack(1);
    await Promise.resolve();
    expect(sent).toEqual(['2', '3', '1+']);
  });
});
