import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, routerSchema, validateConfig } from '../../router/config.js';
import { locate, parseConfigText } from '../../router/config-file.js';
import { closest, editDistance, PATTERN_SENTENCES } from '../../router/config-problems.js';

/** The message of the ConfigError that `load` throws. */
function configErrorOf(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

/** Loading `text` as a config file. */
function loadError(dir: string, text: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, text);
  return configErrorOf(() => loadConfigFile(file));
}

const validationMessage = (input: unknown): string => configErrorOf(() => validateConfig(input));

/** Every `pattern` keyword anywhere in a JSON schema. */
function patternsOf(schema: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) patternsOf(item, found);
  else if (schema !== null && typeof schema === 'object') {
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'pattern' && typeof value === 'string') found.add(value);
      else patternsOf(value, found);
    }
  }
  return found;
}

describe('config files: syntax errors, comments, positions, suggestions', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-config-file-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts // and /* */ comments and trailing commas', () => {
    const file = join(dir, 'commented.json');
    writeFileSync(file, '{\n  // the realm\n  "realms": [ { "name": "realm1", /* no roles */ }, ],\n}\n');
    expect(loadConfigFile(file).realms[0]!.name).to.equal('realm1');
  });

  it('gives line and column for a stray character', () => {
    const message = loadError(dir, '{\n  "realms": [\n    { "name": "realm1" } ]\n  x\n}\n');
    expect(message).to.match(/invalid JSON at line 4 column 3: /);
  });

  it('gives line and column for a missing comma, naming what it found', () => {
    const message = loadError(dir, '{\n  "realms": [ { "name": "realm1" } ]\n  "log": { "level": "info" }\n}\n');
    expect(message).to.match(/invalid JSON at line 3 column 3: comma expected \(found "\\"log\\""\)/);
  });

  it('gives a position for an unterminated file', () => {
    const message = loadError(dir, '{\n  "realms": [ { "name": "realm1" }\n');
    expect(message).to.match(/invalid JSON at line 3 column 1/);
  });

  it('reports schema problems with the line and column of the value', () => {
    const message = loadError(dir, '{\n  "realms": [\n    { "name": "r1" }\n  ]\n}\n');
    expect(message).to.include('/realms/0/name: a realm name starts with a letter and has 3 to 255');
    expect(message).to.include('(got "r1") (line 3 column 15)');
  });

  it('suggests the known key nearest to a misspelt one', () => {
    const message = validationMessage({ realms: [{ name: 'realm1' }], limits: { maxMesageBytes: 4096 } });
    expect(message).to.include('/limits: unknown key "maxMesageBytes"; did you mean "maxMessageBytes"?');
    const listener = validationMessage({ listeners: [{ type: 'websocket', alowedOrigins: [] }], realms: [{ name: 'realm1' }] });
    expect(listener).to.include('did you mean "allowedOrigins"?');
  });

  it('makes no suggestion when nothing is close', () => {
    const message = validationMessage({ realms: [{ name: 'realm1' }], limits: { frobnicate: 1 } });
    expect(message).to.include('/limits: unknown key "frobnicate"');
    expect(message).not.to.include('did you mean');
  });

  it('explains an origin with a path as a sentence, not a regular expression', () => {
    const message = validationMessage({
      listeners: [{ type: 'websocket', allowedOrigins: ['http://127.0.0.1:3000/'] }],
      realms: [{ name: 'realm1' }],
    });
    expect(message).to.include('an origin is scheme://host[:port] with no path');
    expect(message).not.to.match(/must match pattern/);
  });

  it('has a sentence for every pattern in the schema', () => {
    const missing = [...patternsOf(routerSchema)].filter((pattern) => PATTERN_SENTENCES[pattern] === undefined);
    expect(missing).to.deep.equal([]);
  });

  it('locates values by JSON pointer, with ~1 and ~0 escapes', () => {
    const text = '{\n  "a": {\n    "b/c": [1, {"d~e": true}]\n  }\n}';
    expect(locate(text, '/a/b~1c/1/d~0e')).to.deep.equal({ line: 3, column: 24 });
    expect(locate(text, '/a/missing')).to.equal(undefined);
    expect(parseConfigText('[1,]')).to.deep.equal({ ok: true, data: [1] });
  });

  it('counts edits like a person does: case is free, a swap is one slip', () => {
    expect(editDistance('kitten', 'sitting')).to.equal(3);
    expect(editDistance('ab', 'ba')).to.equal(1);
    expect(closest('LOG', ['log', 'limits'])).to.equal('log');
    expect(closest('prot', ['port', 'path'])).to.equal('port');
    expect(closest('zzzzzz', ['port', 'path'])).to.equal(undefined);
  });
});
