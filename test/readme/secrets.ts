// Stands in for the reader's secrets provider in the README's FlowbusAdminModule.forRootAsync example.
import { Injectable, Module } from '@nestjs/common';

@Injectable()
export class Secrets {
  async get(name: string): Promise<string> {
    return `secret-of-${name}-0123456789`;
  }
}

@Module({ providers: [Secrets], exports: [Secrets] })
export class SecretsModule {}
