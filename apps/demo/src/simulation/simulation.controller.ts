import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseEnumPipe,
  Post,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { SetSwitchDto, SwitchboardDto, SwitchStateDto } from './dto/set-switch.dto.js';
import { SERVICES, Switchboard, type SimulatedService, type SwitchState } from './switchboard.js';

@ApiTags('simulation')
@Controller('simulate')
@UsePipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
export class SimulationController {
  constructor(private readonly switchboard: Switchboard) {}

  @Get()
  @ApiOperation({ summary: 'The switch of each simulated service, with call counts' })
  @ApiOkResponse({ type: SwitchboardDto })
  all(): Record<SimulatedService, SwitchState> {
    return this.switchboard.all();
  }

  @Post(':service')
  @HttpCode(200)
  @ApiOperation({ summary: 'Flip the switch of a simulated service', description: 'Takes effect on its next call.' })
  @ApiParam({ name: 'service', enum: SERVICES })
  @ApiOkResponse({ type: SwitchStateDto })
  @ApiBadRequestResponse({ description: 'Unknown service, or a bad mode or delay (the message names the field)' })
  set(
    @Param('service', new ParseEnumPipe(enumOf(SERVICES), { exceptionFactory: () => badService() }))
    service: SimulatedService,
    @Body() body: SetSwitchDto,
  ): SwitchState {
    return this.switchboard.set(service, body.mode, body.delayMs);
  }
}

function badService(): BadRequestException {
  return new BadRequestException([`service must be one of the following values: ${SERVICES.join(', ')}`]);
}

/** `ParseEnumPipe` wants an enum-like object. */
function enumOf<T extends string>(values: readonly T[]): Record<T, T> {
  return Object.fromEntries(values.map((v) => [v, v])) as Record<T, T>;
}
