import { expect } from 'chai';
import { parseConfigText } from '../../router/config-file.js';
import { routerSchema, validateConfig } from '../../router/config.js';
import { README, readmeSection } from '../helpers/readme.js';

/**
 * Every JSON example in README.md is loaded here exactly as written: complete configs are
 * validated as config files, fragments inside the minimal config they belong to. The Configuration
 * reference is also checked to name every key the schema knows, so it stays "every key".
 */

interface Block {
  language: string;
  text: string;
}

const BLOCKS: Block[] = [...README.matchAll(/```(json|jsonc)\n([\s\S]*?)```/g)].map((m) => ({ language: m[1]!, text: m[2]! }));
const MINIMAL_REALM = { name: 'realm1', roles: [{ name: 'frontend', permissions: [] }] };

function parse(text: string): any {
  const parsed = parseConfigText(text);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.data;
}

/** How a README block becomes a config: itself, or the minimal config it is a piece of. */
function asConfig(text: string): unknown {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('"roles"')) return { realms: [{ name: 'realm1', ...parse(`{${text}}`) }] };
  if (trimmed.startsWith('"ops"')) return { realms: [MINIMAL_REALM], ...parse(`{${text}}`) };
  const value = parse(text);
  // A WAMP-CRA user entry as derive-key prints it.
  if ('key' in value && 'salt' in value) return { realms: [{ ...MINIMAL_REALM, auth: { wampcra: { users: { bob: value } } } }] };
  return value;
}

/** Property names a schema object declares. */
function schemaKeys(schema: any): string[] {
  return Object.keys(schema?.properties ?? {});
}

describe('README config examples, loaded as written', () => {
  it('has JSON examples to check', () => {
    expect(BLOCKS.length).to.be.greaterThan(5);
  });

  BLOCKS.forEach((block, i) => {
    const first = block.text.split('\n').find((line) => line.trim() !== '')!.trim();
    it(`block ${i + 1} (${block.language}: ${first.slice(0, 50)}) is a valid config or config piece`, () => {
      if (block.language === 'json') expect(() => JSON.parse(block.text.trimStart().startsWith('"') ? `{${block.text}}` : block.text)).not.to.throw();
      expect(() => validateConfig(asConfig(block.text))).not.to.throw();
    });
  });

  it('the Configuration reference names every key the schema has, at every level', () => {
    const reference = parse(/```jsonc\n([\s\S]*?)```/.exec(readmeSection('Configuration'))![1]!);
    const schema = routerSchema as any;
    const realmSchema = schema.properties.realms.items;
    const listenerKeys = new Set(reference.listeners.flatMap((l: object) => Object.keys(l)));
    const roleKeys = new Set(reference.realms[0].roles.flatMap((r: object) => Object.keys(r)));
    const missing = [
      ...schemaKeys(schema).filter((k) => !(k in reference)).map((k) => `/${k}`),
      ...schemaKeys(schema.properties.listeners.items).filter((k) => !listenerKeys.has(k)).map((k) => `/listeners/*/${k}`),
      ...schemaKeys(realmSchema).filter((k) => !(k in reference.realms[0])).map((k) => `/realms/*/${k}`),
      ...schemaKeys(realmSchema.properties.roles.items).filter((k) => !roleKeys.has(k)).map((k) => `/realms/*/roles/*/${k}`),
      ...schemaKeys(realmSchema.properties.auth).filter((k) => !(k in reference.realms[0].auth)).map((k) => `/realms/*/auth/${k}`),
      ...schemaKeys(schema.properties.ops).filter((k) => k !== 'token' && !(k in reference.ops)).map((k) => `/ops/${k}`),
    ];
    expect(missing).to.deep.equal([]);
  });
});
