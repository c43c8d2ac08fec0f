import {
  Body,
  Controller,
  Headers,
  HttpCode,
  Post,
  ServiceUnavailableException,
  UseGuards,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { context, propagation } from '@opentelemetry/api';
import { SimulatedOutageError } from '../simulation/switchboard.js';
import { ShippingAnswerDto, ShippingWebhookDto } from './dto/shipping-webhook.dto.js';
import { ShippingService } from './shipping.service.js';
import { WebhookAuthGuard } from './webhook-auth.guard.js';

/**
 * The shipping service's webhook, as if it ran elsewhere: the relay POSTs ShipOrder here through
 * `httpDestination('shipping')`. 2xx = delivered; 503 (switch `down`) = retried with backoff and
 * counted by the destination's circuit breaker; 400 or 401 = dead-lettered at once.
 */
@ApiTags('simulated services')
@Controller('simulated/shipping')
@UseGuards(WebhookAuthGuard)
@UsePipes(new ValidationPipe({ transform: true }))
export class ShippingController {
  constructor(private readonly shipping: ShippingService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Shipping webhook (called by the Flowbus relay)',
    description:
      "Receives Flowbus's envelope `{ id, type, key, payload, headers, createdAt }` with a ShipOrder payload.",
  })
  @ApiOkResponse({ type: ShippingAnswerDto })
  @ApiBadRequestResponse({ description: 'Not a ShipOrder message: the relay dead-letters it' })
  @ApiUnauthorizedResponse({ description: 'Without the bearer token the relay is configured with' })
  @ApiServiceUnavailableResponse({ description: 'Switched `down`: the relay retries later' })
  async receive(
    @Body() message: ShippingWebhookDto,
    @Headers() headers: Record<string, string>,
  ): Promise<ShippingAnswerDto> {
    // Continue the caller's trace (its `traceparent` header): without HTTP instrumentation
    // registered, nothing else reads it. With it, the active context is already the caller's.
    const caller = propagation.extract(context.active(), headers);
    try {
      return await context.with(caller, () => this.shipping.ship(message.id, message.payload, message.headers));
    } catch (error) {
      if (error instanceof SimulatedOutageError) throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }
}
