import { describe, expect, it } from '@jest/globals';
import { compileSnippets, installedPackages, packageImports, readmeSnippets } from './readme/readme-snippets.js';

/**
 * The README's code blocks compile against the library: the blocks tagged ```` ```ts file=<name> ````
 * are type-checked as the files of one small app (test/readme/ holds stand-ins for the reader's
 * entities and services), and every package they import is in the install section.
 */
describe('README snippets', () => {
  const snippets = readmeSnippets();

  it('tags the install, bus, outbox, sagas, admin and testing examples', () => {
    expect([...snippets.keys()].sort()).toEqual(
      expect.arrayContaining([
        'admin.module.ts',
        'app.module.ts',
        'order-fulfillment.saga.ts',
        'order.service.ts',
        'orders.e2e-spec.ts',
        'orders.ts',
      ]),
    );
  });

  it('type-checks them against the library sources', () => {
    expect(compileSnippets(snippets)).toEqual([]);
  }, 180_000);

  it('tells the reader to install every package they import', () => {
    // Every Nest app already has these; nestjs-flowbus is the first word of the install line.
    const given = new Set(['@nestjs/common', '@nestjs/core', '@nestjs/testing', 'nestjs-flowbus']);
    const installed = installedPackages();
    expect(installed).toContain('nestjs-flowbus');
    const missing = [...packageImports(snippets.values())].filter((p) => !given.has(p) && !installed.has(p));
    expect(missing).toEqual([]);
  });

  it('would catch a snippet that uses a field its event lacks', () => {
    const broken = new Map(snippets);
    broken.set(
      'order-fulfillment.saga.ts',
      snippets.get('order-fulfillment.saga.ts')!.replace('ctx.state.total = e.total;', 'ctx.state.total = e.items;'),
    );
    expect(broken.get('order-fulfillment.saga.ts')).toContain('e.items');
    const diagnostics = compileSnippets(broken);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatch(/order-fulfillment\.saga\.ts:\d+:\d+ TS2339 Property 'items' does not exist/);
  }, 180_000);
});
