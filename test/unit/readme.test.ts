import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { LIMIT_SPECS } from '../../router/limits.js';
import { routerRoles } from '../../router/protocol/features.js';

// The README documents what WELCOME announces and every limit; these tests keep it honest.
const README = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

describe('README', () => {
  it('feature table lists exactly the features WELCOME announces', () => {
    const rows = [...README.matchAll(/^\| (broker|dealer) \| `([a-z_]+)` \| (yes|no) \|$/gm)];
    const documented: Record<string, string[]> = { broker: [], dealer: [] };
    for (const [, role, feature, supported] of rows) if (supported === 'yes') documented[role!]!.push(feature!);
    const announced = routerRoles();
    for (const role of ['broker', 'dealer']) {
      expect(documented[role]!.sort(), role).to.deep.equal(Object.keys(announced[role]!.features).sort());
    }
  });

  it('limits table names every limit with its default', () => {
    for (const [name, spec] of Object.entries(LIMIT_SPECS)) {
      expect(README, name).to.match(new RegExp(`\\| \`${name}\` \\| ${spec.default} \\| ${spec.min}–${spec.max} \\|`));
    }
  });
});
