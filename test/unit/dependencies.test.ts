import { createRequire } from 'node:module';
import { expect } from 'chai';

// npm audit cannot reach an advisory database from this workplace, so the one dependency with
// a security history that faces the network is pinned by test: ws >= 8.21.0 (memory exhaustion
// from tiny fragments fixed in 8.21.0, close() memory disclosure in 8.20.1; reliability.md §2.4).
describe('dependencies', () => {
  it('the router runs on ws >= 8.21.0', () => {
    const require = createRequire(import.meta.url);
    const { version } = require('ws/package.json') as { version: string };
    const [major, minor] = version.split('.').map(Number) as [number, number];
    expect(major * 1000 + minor, `ws ${version}`).to.be.at.least(8 * 1000 + 21);
  });
});
