import { Module } from '@nestjs/common';
import { OrderFulfillmentSaga } from './order-fulfillment.saga.js';

/** The order-fulfilment saga (Flowbus discovers it by its @Saga decorator). */
@Module({ providers: [OrderFulfillmentSaga] })
export class FulfillmentModule {}
