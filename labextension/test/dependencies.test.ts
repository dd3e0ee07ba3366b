import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

import { describe, expect, it } from 'vitest';

/** The package an import specifier names (`@scope/name` or `name`), or null for a relative one. */
function packageOf(spec: string): string | null {
  if (spec.startsWith('.')) {
    return null;
  }
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function importsIn(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of readdirSync(dir)) {
    if (!/\.tsx?$/.test(file)) {
      continue;
    }
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s+'([^']+)'/g)) {
      const pkg = packageOf(m[1]);
      if (pkg !== null) {
        out.set(pkg, [...(out.get(pkg) ?? []), file]);
      }
    }
  }
  return out;
}

const manifest = JSON.parse(
  readFileSync(join(__dirname, '..', 'package.json'), 'utf8')
) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('declared dependencies', () => {
  it('every package the extension imports is a dependency', () => {
    const missing = [...importsIn(join(__dirname, '..', 'src')).entries()]
      .filter(([pkg]) => !(pkg in manifest.dependencies))
      .map(([pkg, files]) => `${pkg} (${files.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('every package the tests import is a dependency or a dev dependency', () => {
    const builtins = new Set(['fs', 'path', 'http', 'net']);
    const missing = [...importsIn(__dirname).keys()].filter(
      pkg =>
        !builtins.has(pkg) &&
        !(pkg in manifest.dependencies) &&
        !(pkg in manifest.devDependencies)
    );
    expect(missing).toEqual([]);
  });
});
