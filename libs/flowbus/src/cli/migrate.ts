#!/usr/bin/env node
/**
 * `flowbus-migrate`: applies and inspects Flowbus's migrations for people who run migrations
 * themselves (then set `migrationsRun: false`). `flowbus-migrate --help` tells how.
 */
import { Logger } from '@nestjs/common';
import { runMigrateCli } from './migrate-cli.js';

Logger.overrideLogger(false); // this command prints its own results

runMigrateCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`flowbus-migrate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
