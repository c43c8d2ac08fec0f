import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { MODES, type SimulationMode } from '../switchboard.js';

export class SetSwitchDto {
  @ApiProperty({
    enum: MODES,
    description:
      '`ok` succeeds; `fail` answers with a business failure; `slow` waits `delayMs` then succeeds; `down` does not answer, so the relay retries with backoff',
  })
  @IsIn(MODES)
  mode!: SimulationMode;

  @ApiPropertyOptional({ description: 'Delay of `slow` in ms', minimum: 0, maximum: 20_000, default: 2000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(20_000)
  delayMs?: number;
}

export class SwitchStateDto {
  @ApiProperty({ enum: MODES })
  mode!: SimulationMode;

  @ApiProperty({ description: 'Delay of `slow` in ms' })
  delayMs!: number;

  @ApiProperty({ description: 'Calls the service received, retries included' })
  calls!: number;

  @ApiProperty({ description: 'Calls refused while `down`' })
  refused!: number;
}

export class SwitchboardDto {
  @ApiProperty({ type: SwitchStateDto, description: 'Reached through the outbox: `local` destination' })
  payment!: SwitchStateDto;

  @ApiProperty({ type: SwitchStateDto, description: 'Reached through the outbox: `local` destination' })
  inventory!: SwitchStateDto;

  @ApiProperty({
    type: SwitchStateDto,
    description: 'Reached through the outbox: `httpDestination` POSTing to /simulated/shipping',
  })
  shipping!: SwitchStateDto;
}
