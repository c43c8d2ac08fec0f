import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { FlowbusHealthIndicator } from 'nestjs-flowbus/health';

/** `GET /health`: 200 while Flowbus is healthy, 503 naming the failed check otherwise. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly flowbus: FlowbusHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.flowbus.isHealthy('flowbus', { maxOldestPendingAgeMs: 10 * 60_000 })]);
  }
}
