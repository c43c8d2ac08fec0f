import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { LANDING_CSP, LANDING_HTML } from './landing.page.js';

/** `GET /`: what the demo is, with buttons to place orders and flip the switches. */
@ApiExcludeController()
@Controller()
export class LandingController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', LANDING_CSP)
  @Header('Cache-Control', 'no-store')
  page(): string {
    return LANDING_HTML;
  }
}
