import type { DeliveryMessage, Destination } from 'nestjs-flowbus';

/**
 * A user `Destination` whose `deliver` resolves at once, calling `onDeliver` first. It keeps the
 * default circuit breaker (every relay destination gets one) unless `breaker` is false.
 */
export function noopDestination(onDeliver: (message: DeliveryMessage) => void, breaker = true): Destination {
  return {
    deliver: (message) => {
      onDeliver(message);
      return Promise.resolve();
    },
    ...(breaker ? {} : { circuitBreaker: false }),
  };
}

/** A message like the ones the drain seeds (about 60 bytes of JSON). */
export function orderMessage(n: number, id?: string) {
  return {
    destination: 'noop',
    type: 'OrderPlaced',
    payload: { orderId: `order-${n}`, amount: n, currency: 'EUR' },
    ...(id ? { id } : {}),
  };
}
