import { Controller, Get, Header, UseFilters, type Type } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AdminExceptionFilter } from './admin-exception.filter.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard.page.js';

/**
 * Serves the dashboard page at `GET /<path>` to anyone: the page holds no data, only code that
 * calls the guarded API with the token the operator types in (or the session cookie an
 * `admin.guard` checks). A strict CSP admits only its own inline script and styles.
 */
@ApiExcludeController()
@UseFilters(AdminExceptionFilter)
export class DashboardController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('Cache-Control', 'no-store')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('X-Frame-Options', 'DENY')
  page(): string {
    return DASHBOARD_HTML;
  }
}

/** The dashboard controller at `path` (see `createAdminController`). */
export function createDashboardController(path: string): Type<DashboardController> {
  @Controller(path)
  class FlowbusDashboardController extends DashboardController {}
  return FlowbusDashboardController;
}
