import {
  Catch,
  HttpException,
  HttpStatus,
  Injectable,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FlowbusError } from '../errors/flowbus.error.js';
import { describeError } from '../errors/handler-failures.error.js';
import { RecordNotFoundError } from '../errors/record-not-found.error.js';
import { StateConflictError } from '../errors/state-conflict.error.js';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  code?: string;
}

/**
 * Turns whatever an admin route throws into a JSON answer in Nest's shape
 * (`{ statusCode, error, message }`): HttpExceptions as they are, Flowbus errors by kind, an
 * unreachable database as 503. A 500 means a Flowbus bug and is logged with its stack.
 */
@Catch()
@Injectable()
export class AdminExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Flowbus:Admin');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<unknown>();
    const adapter = this.adapterHost.httpAdapter;
    const body = this.toBody(exception, http.getRequest<{ method?: string; url?: string }>());
    if (adapter.isHeadersSent(response)) return;
    if (body.statusCode === HttpStatus.UNAUTHORIZED)
      adapter.setHeader(response, 'WWW-Authenticate', 'Bearer realm="flowbus"');
    adapter.reply(response, body, body.statusCode);
  }

  private toBody(exception: unknown, request: { method?: string; url?: string }): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const r = exception.getResponse();
      if (typeof r === 'object' && r !== null)
        return { statusCode: status, error: reason(status), ...(r as object) } as ErrorBody;
      return { statusCode: status, error: reason(status), message: String(r) };
    }
    if (exception instanceof RecordNotFoundError) return flowbus(HttpStatus.NOT_FOUND, exception);
    if (exception instanceof StateConflictError) return flowbus(HttpStatus.CONFLICT, exception);
    const code = (exception as { code?: unknown } | null)?.code;
    if (typeof code === 'string') {
      // PostgreSQL: 22xxx is bad data (input validation should have caught it first), 23505 a
      // race on a unique key, 42501 a missing privilege, 08/53/57 classes an unreachable, overloaded or stopping server.
      if (/^22[0-9A-Z]{3}$/.test(code)) return { statusCode: 400, error: reason(400), message: 'Invalid input' };
      // A privilege the start-up check does not require (DELETE for retiring a subscriber).
      if (code === '42501') {
        const detail = exception instanceof Error ? `: ${exception.message}` : '';
        this.logger.warn(`${request.method} ${request.url}: refused by the database${detail}`);
        return { statusCode: 403, error: reason(403), message: `The database role lacks a privilege${detail}` };
      }
      if (code === '23505')
        return { statusCode: 409, error: reason(409), message: 'Conflict with a concurrent change' };
      if (/^(08|53|57)[0-9A-Z]{3}$/.test(code) || /^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH)$/.test(code)) {
        this.logger.warn(`${request.method} ${request.url}: database unavailable (${describeError(exception)})`);
        return { statusCode: 503, error: reason(503), message: 'Database unavailable' };
      }
    }
    this.logger.error(
      `${request.method} ${request.url} failed: ${describeError(exception)}`,
      exception instanceof Error ? exception.stack : undefined,
    );
    return {
      statusCode: 500,
      error: reason(500),
      message: 'Internal server error',
      ...(exception instanceof FlowbusError ? { code: exception.code } : {}),
    };
  }
}

function flowbus(status: number, error: FlowbusError): ErrorBody {
  return { statusCode: status, error: reason(status), message: error.message, code: error.code };
}

function reason(status: number): string {
  const name = HttpStatus[status];
  if (!name) return 'Error';
  return name
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}
