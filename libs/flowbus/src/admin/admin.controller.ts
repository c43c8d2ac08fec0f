import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  UnsupportedMediaTypeException,
  UseFilters,
  UseGuards,
  UsePipes,
  ValidationPipe,
  type Type,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { AdminExceptionFilter } from './admin-exception.filter.js';
import { AdminTokenGuard } from './admin-token.guard.js';
import { BULK_REQUEUE_MAX } from './admin.queries.js';
import { AdminService } from './admin.service.js';
import { BulkRequeueDto } from './dto/bulk-requeue.dto.js';
import { BulkRequeueResultDto, DeadLetterDetailDto, DeadLetterPageDto } from './dto/dead-letter.dto.js';
import { ListDeadLettersQuery } from './dto/list-dead-letters.query.js';
import { ListOutboxQuery } from './dto/list-outbox.query.js';
import { ListSagasQuery } from './dto/list-sagas.query.js';
import { OutboxMessageDetailDto, OutboxPageDto } from './dto/outbox-message.dto.js';
import { SagaDetailDto, SagaPageDto } from './dto/saga.dto.js';
import { BreakerDto, StatsDto } from './dto/stats.dto.js';
import { HistoryDto } from './dto/history.dto.js';
import { ConversationDto, SagaTimelineDto } from './dto/conversation.dto.js';
import { InputShapePipe } from './input-shape.pipe.js';
import { MessageIdPipe } from './message-id.pipe.js';
import { SubscriberNamePipe } from './subscriber-name.pipe.js';
import { TextParamPipe } from './text-param.pipe.js';
import type { AdminMount } from './resolve-admin-options.js';

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
const ID = { name: 'id', format: 'uuid', description: 'Message id' };

/**
 * The admin HTTP API. Routes only: `createAdminController` gives it its path and guards. The
 * pipe and the filter are scoped here so the host app needs no global ValidationPipe and its
 * own filters do not change these answers.
 */
@ApiTags('flowbus')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'Missing or wrong bearer token' })
@ApiForbiddenResponse({ description: 'Refused by admin.guard' })
@UseFilters(AdminExceptionFilter)
@UsePipes(new InputShapePipe(), new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }))
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('stats')
  @ApiOperation({
    summary: 'Counts per status and destination, oldest pending age, dead letters, sagas, timeouts, breakers',
  })
  @ApiOkResponse({ type: StatsDto })
  stats(): Promise<StatsDto> {
    return this.admin.stats();
  }

  @Get('outbox')
  @ApiOperation({ summary: 'Outbox messages, newest first' })
  @ApiOkResponse({ type: OutboxPageDto })
  @ApiBadRequestResponse({ description: 'Invalid query (the message names the field)' })
  listOutbox(@Query() query: ListOutboxQuery): Promise<OutboxPageDto> {
    return this.admin.listOutbox(query);
  }

  @Get('outbox/:id')
  @ApiOperation({ summary: 'One outbox message with its error history' })
  @ApiParam(ID)
  @ApiOkResponse({ type: OutboxMessageDetailDto })
  @ApiNotFoundResponse({ description: 'No such message' })
  getOutbox(@Param('id', MessageIdPipe) id: string): Promise<OutboxMessageDetailDto> {
    return this.admin.getOutbox(id);
  }

  @Post('outbox/:id/retry')
  @HttpCode(200)
  @ApiOperation({ summary: 'Make a pending message due now (skips the rest of its backoff)' })
  @ApiParam(ID)
  @ApiOkResponse({ type: OutboxMessageDetailDto })
  @ApiNotFoundResponse({ description: 'No such message' })
  @ApiConflictResponse({ description: 'Delivered already, or leased by a relay right now' })
  retryOutbox(@Param('id', MessageIdPipe) id: string): Promise<OutboxMessageDetailDto> {
    return this.admin.retryOutbox(id);
  }

  @Get('dead-letters')
  @ApiOperation({ summary: 'Dead letters, newest first' })
  @ApiOkResponse({ type: DeadLetterPageDto })
  @ApiBadRequestResponse({ description: 'Invalid query (the message names the field)' })
  listDeadLetters(@Query() query: ListDeadLettersQuery): Promise<DeadLetterPageDto> {
    return this.admin.listDeadLetters(query);
  }

  @Post('dead-letters/requeue')
  @HttpCode(200)
  @ApiOperation({
    summary: `Requeue dead letters by ids, or by a filter (destination and/or type), up to ${BULK_REQUEUE_MAX} per call`,
  })
  @ApiOkResponse({ type: BulkRequeueResultDto })
  @ApiBadRequestResponse({ description: 'Neither ids nor a filter, both, or an invalid field' })
  @ApiUnsupportedMediaTypeResponse({ description: 'Body not sent as application/json' })
  requeueMany(
    @Body() body: BulkRequeueDto,
    @Headers('content-type') contentType?: string,
  ): Promise<BulkRequeueResultDto> {
    if (contentType !== undefined && !JSON_TYPE.test(contentType)) {
      throw new UnsupportedMediaTypeException('Send the body as application/json');
    }
    const filtered = body.destination !== undefined || body.type !== undefined;
    if (body.ids !== undefined && filtered) {
      throw new BadRequestException('ids cannot be combined with a filter (destination, type): give one or the other');
    }
    if (body.ids === undefined && !filtered) {
      throw new BadRequestException(
        'ids or a filter is required: { "ids": [...] } or { "destination": ..., "type": ... }',
      );
    }
    return this.admin.requeueMany(body);
  }

  @Get('dead-letters/:id')
  @ApiOperation({ summary: 'One dead letter with its whole error history' })
  @ApiParam(ID)
  @ApiOkResponse({ type: DeadLetterDetailDto })
  @ApiNotFoundResponse({ description: 'No such dead letter' })
  getDeadLetter(@Param('id', MessageIdPipe) id: string): Promise<DeadLetterDetailDto> {
    return this.admin.getDeadLetter(id);
  }

  @Post('dead-letters/:id/requeue')
  @HttpCode(200)
  @ApiOperation({ summary: 'Move a dead letter back to the outbox, due now, keeping its id; attempts restart at 0' })
  @ApiParam(ID)
  @ApiOkResponse({ type: OutboxMessageDetailDto, description: 'The message, back in the outbox' })
  @ApiNotFoundResponse({ description: 'Neither a dead letter nor an outbox message has this id' })
  @ApiConflictResponse({ description: 'Requeued already: the message is in the outbox' })
  requeue(@Param('id', MessageIdPipe) id: string): Promise<OutboxMessageDetailDto> {
    return this.admin.requeue(id);
  }

  @Delete('dead-letters/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a dead letter for good' })
  @ApiParam(ID)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'No such dead letter' })
  deleteDeadLetter(@Param('id', MessageIdPipe) id: string): Promise<void> {
    return this.admin.deleteDeadLetter(id);
  }

  @Get('sagas')
  @ApiOperation({ summary: 'Saga instances, newest first' })
  @ApiOkResponse({ type: SagaPageDto })
  @ApiBadRequestResponse({ description: 'Invalid query (the message names the field)' })
  listSagas(@Query() query: ListSagasQuery): Promise<SagaPageDto> {
    return this.admin.listSagas(query);
  }

  @Get('sagas/:name/:correlationId')
  @ApiOperation({ summary: 'One saga instance: state, compensations and scheduled timeouts' })
  @ApiOkResponse({ type: SagaDetailDto })
  @ApiNotFoundResponse({ description: 'No such saga instance' })
  getSaga(
    @Param('name', TextParamPipe) name: string,
    @Param('correlationId', TextParamPipe) correlationId: string,
  ): Promise<SagaDetailDto> {
    return this.admin.getSaga(name, correlationId);
  }

  @Get('sagas/:name/:correlationId/timeline')
  @ApiOperation({ summary: "One saga instance's timeline: the messages delivered to it and written by its steps" })
  @ApiOkResponse({ type: SagaTimelineDto })
  @ApiNotFoundResponse({ description: 'No such saga instance' })
  sagaTimeline(
    @Param('name', TextParamPipe) name: string,
    @Param('correlationId', TextParamPipe) correlationId: string,
  ): Promise<SagaTimelineDto> {
    return this.admin.sagaTimeline(name, correlationId);
  }

  @Get('conversations/:correlationId')
  @ApiOperation({
    summary: 'A conversation: every message carrying this correlation id, oldest first, with what caused each',
  })
  @ApiParam({ name: 'correlationId', description: 'The `correlationId` of any of its messages' })
  @ApiOkResponse({ type: ConversationDto })
  @ApiNotFoundResponse({ description: 'No message carries this correlation id' })
  conversation(@Param('correlationId', TextParamPipe) correlationId: string): Promise<ConversationDto> {
    return this.admin.conversation(correlationId);
  }

  @Get('history')
  @ApiOperation({
    summary: 'Throughput (delivered, failed) and backlog per destination over the last hour, per minute',
  })
  @ApiOkResponse({ type: HistoryDto })
  history(): Promise<HistoryDto> {
    return this.admin.history();
  }

  @Delete('subscribers/:name')
  @HttpCode(204)
  @ApiOperation({
    summary:
      "Retire a log subscriber that no deployment reads any more: deletes its cursors (and a local one's " +
      'directory rows), so it no longer holds retention back; its retries and dead letters stay',
  })
  @ApiParam({
    name: 'name',
    description: 'The subscriber as GET /stats lists it, e.g. `local:audit` or `destination:billing` (URL-encoded)',
  })
  @ApiNoContentResponse({ description: 'Retired' })
  @ApiBadRequestResponse({ description: 'Not a subscriber name (local:<name> or destination:<name>)' })
  @ApiNotFoundResponse({ description: 'No cursor has this name (always, on the table storage)' })
  @ApiConflictResponse({ description: 'A running relay still reads it: it would register it again' })
  @ApiForbiddenResponse({ description: 'The database role lacks DELETE on flowbus_cursor or flowbus_subscriber' })
  retireSubscriber(@Param('name', SubscriberNamePipe) name: string): Promise<void> {
    return this.admin.retireSubscriber(name);
  }

  @Get('breakers')
  @ApiOperation({ summary: 'Circuit breaker of each destination in this instance' })
  @ApiOkResponse({ type: [BreakerDto] })
  breakers(): BreakerDto[] {
    return this.admin.breakerStates();
  }
}

/**
 * A fresh controller class at `mount.path`: a controller's path and guards are decorator
 * metadata, so each mount gets its own subclass rather than a mutation of shared metadata.
 * The user's guard decides access, or else the bearer-token check.
 */
export function createAdminController(mount: AdminMount): Type<AdminController> {
  @Controller(mount.path)
  @UseGuards(mount.guard ?? AdminTokenGuard)
  class FlowbusAdminController extends AdminController {}
  return FlowbusAdminController;
}
