import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { FlowbusHealthIndicator } from 'nestjs-flowbus/health';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';
import { PROMETHEUS_EXPORTER } from './observability.constants.js';
import { startOpenTelemetry } from './open-telemetry.js';

/** `/metrics` (Prometheus, through OpenTelemetry) and `/health` (Terminus). */
@Module({
  imports: [TerminusModule],
  controllers: [MetricsController, HealthController],
  providers: [FlowbusHealthIndicator, { provide: PROMETHEUS_EXPORTER, useFactory: startOpenTelemetry }],
})
export class ObservabilityModule {}
