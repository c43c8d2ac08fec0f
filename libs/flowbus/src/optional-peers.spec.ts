import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = dirname(fileURLToPath(import.meta.url));
const ADMIN_PEERS = ['@nestjs/swagger', 'class-validator', 'class-transformer'];

/**
 * The packages an entry point loads at run time: every import and re-export that survives
 * compilation (type-only ones are erased), followed through the library's own files.
 */
function runtimePackages(entry: string): {
  packages: Set<string>;
  files: Set<string>;
  /** Packages reached only through a dynamic `import()`, with the file that asks for each. */
  dynamic: Map<string, string>;
} {
  const packages = new Set<string>();
  const files = new Set<string>();
  const dynamic = new Map<string, string>();
  const queue = [resolve(SRC, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
    for (const { specifier, isDynamic } of runtimeSpecifiers(source)) {
      if (!specifier.startsWith('.')) {
        if (isDynamic) dynamic.set(packageName(specifier), file);
        else packages.add(packageName(specifier));
        continue;
      }
      const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
      if (!existsSync(target)) throw new Error(`${file} imports ${specifier}, which does not exist`);
      queue.push(target);
    }
  }
  for (const name of packages) dynamic.delete(name);
  return { packages, files, dynamic };
}

function runtimeSpecifiers(source: ts.SourceFile): { specifier: string; isDynamic: boolean }[] {
  const out: { specifier: string; isDynamic: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) out.push({ specifier: node.moduleSpecifier.text, isDynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly =
        node.isTypeOnly ||
        (node.exportClause !== undefined &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.push({ specifier: node.moduleSpecifier.text, isDynamic: false });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push({ specifier: node.arguments[0].text, isDynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

describe('optional admin peers', () => {
  it.each(['index.ts', 'testing/index.ts'])(
    '%s never imports @nestjs/swagger, class-validator or class-transformer',
    (entry) => {
      const { packages, files, dynamic } = runtimePackages(entry);
      expect(ADMIN_PEERS.filter((p) => packages.has(p))).toEqual([]);
      // The one exception, by design: the payload codec loads class-transformer with a dynamic
      // import() when it is installed (it rebuilds durable payloads; README "Payloads"), and
      // works without it. Swagger and class-validator are never reached, not even dynamically.
      expect(ADMIN_PEERS.filter((p) => dynamic.has(p))).toEqual(['class-transformer']);
      expect(dynamic.get('class-transformer')).toBe(resolve(SRC, 'outbox/payload-codec.ts'));
      expect([...files].filter((f) => f.includes(`${SRC}/admin/`))).toEqual([]);
      // The walk works: it reaches the core's own dependencies.
      expect(packages).toContain('@nestjs/common');
      expect(packages).toContain('typeorm');
    },
  );

  it('admin/index.ts is where they are loaded', () => {
    const { packages } = runtimePackages('admin/index.ts');
    expect(ADMIN_PEERS.filter((p) => packages.has(p))).toEqual(ADMIN_PEERS);
  });
});

describe('optional observability peers', () => {
  it.each(['index.ts', 'testing/index.ts', 'admin/index.ts'])(
    '%s loads @opentelemetry/api only on demand and never reaches @nestjs/terminus',
    (entry) => {
      const { packages, dynamic } = runtimePackages(entry);
      expect(packages.has('@opentelemetry/api')).toBe(false);
      expect(packages.has('@nestjs/terminus')).toBe(false);
      expect(dynamic.has('@nestjs/terminus')).toBe(false);
      // One place asks for the API, with a dynamic import() that tolerates its absence.
      expect(dynamic.get('@opentelemetry/api')).toBe(resolve(SRC, 'telemetry/otel-api.ts'));
      expect([...packages].filter((p) => p.startsWith('@opentelemetry/'))).toEqual([]);
    },
  );
});
