import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Constant-time comparison cannot be seen from outside in a test, so it is guarded at the source
 * (issue 13.7): the helper in auth/crypto.ts hashes both sides to fixed-length digests and
 * compares them with `timingSafeEqual`, and the modules that compare signatures, tickets, keys,
 * tokens and HTTP signatures do so only through it: no `===`/`!==`/`==`/`!=` with a secret-named
 * operand (other than against undefined/null or a `typeof`), no `.equals()`/`.compare()`, and no
 * `timingSafeEqual` of their own on values that may differ in length.
 */

const ROOT = new URL('../../../', import.meta.url);
const source = (path: string) => readFileSync(fileURLToPath(new URL(path, ROOT)), 'utf8');

/** Modules that compare a client's secret-derived value with the expected one, and must call the helper. */
const COMPARERS = ['auth/wampcra.ts', 'auth/realm-auth.ts', 'auth/http-signature.ts', 'router/ops/ops-server.ts'];
/** Modules that handle credentials and must not compare them any other way. */
const CREDENTIAL_MODULES = [
  ...COMPARERS, 'auth/crypto.ts', 'auth/ticket.ts', 'auth/cryptosign.ts', 'auth/issued.ts', 'auth/guard.ts', 'auth/revocations.ts',
  'auth/unknown-authid.ts', 'router/transport/http-bridge.ts',
];

/** Names that hold secrets or values derived from them; key *ids* and public keys are not. */
const SECRET_OPERAND = /signature|ticket|secret|password|token|digest|expected|hmac|challenge|(^|[^a-z])key\b|[a-z]Key\b/i;
const NOT_SECRET_OPERAND = /keyId|pubkey|publicKey/i;
const EQUALITY = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);

function isHarmlessOther(node: ts.Expression): boolean {
  return node.kind === ts.SyntaxKind.NullKeyword || (ts.isIdentifier(node) && node.text === 'undefined') || ts.isTypeOfExpression(node)
    || ts.isNumericLiteral(node);
}

/** A literal written in the source is never a client's secret (`route === '/auth/challenge'`). */
function isSecretOperand(node: ts.Expression, file: ts.SourceFile): boolean {
  if (ts.isStringLiteralLike(node)) return false;
  const text = node.getText(file);
  return SECRET_OPERAND.test(text) && !NOT_SECRET_OPERAND.test(text) && !ts.isTypeOfExpression(node);
}

/** Every comparison in `text` that could compare a secret in variable time, as "line: code". */
export function variableTimeComparisons(text: string, fileName = 'module.ts', allowTimingSafeEqual = false): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const report = (node: ts.Node) => found.push(`${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}: ${node.getText(file)}`);
  const visit = (node: ts.Node): void => {
    if (ts.isBinaryExpression(node) && EQUALITY.has(node.operatorToken.kind)) {
      const { left, right } = node;
      if ((isSecretOperand(left, file) && !isHarmlessOther(right)) || (isSecretOperand(right, file) && !isHarmlessOther(left))) report(node);
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
      if (name === 'equals' || name === 'compare' || name === 'localeCompare') report(node);
      if (name === 'timingSafeEqual' && !allowTimingSafeEqual) report(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function functionText(text: string, name: string): string {
  const file = ts.createSourceFile('crypto.ts', text, ts.ScriptTarget.Latest, true);
  const declaration = file.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === name);
  expect(declaration, `function ${name}`).to.not.equal(undefined);
  return declaration!.getText(file);
}

describe('constant-time comparison, guarded at the source (issue 13.7)', function () {
  it('auth/crypto.ts constantTimeEqual hashes both sides with SHA-256 and compares the digests with timingSafeEqual', function () {
    const body = functionText(source('auth/crypto.ts'), 'constantTimeEqual');
    expect(body.match(/createHash\('sha256'\)\.update\((a|b), 'utf8'\)\.digest\(\)/g), 'both sides hashed to 32 bytes').to.have.length(2);
    expect(body).to.match(/return timingSafeEqual\(ha, hb\);/);
    expect(variableTimeComparisons(body, 'crypto.ts', true)).to.deep.equal([]);
  });

  it('verifyCryptosign compares the signed bytes with timingSafeEqual only after fixing their length (192 hex characters)', function () {
    const body = functionText(source('auth/crypto.ts'), 'verifyCryptosign');
    expect(body.indexOf('/^[0-9a-fA-F]{192}$/')).to.be.greaterThan(-1);
    expect(body.indexOf('/^[0-9a-fA-F]{192}$/')).to.be.lessThan(body.indexOf('timingSafeEqual('));
  });

  for (const path of CREDENTIAL_MODULES) {
    it(`${path} compares credentials through the helper only`, function () {
      expect(variableTimeComparisons(source(path), path, path === 'auth/crypto.ts')).to.deep.equal([]);
    });
  }

  for (const path of COMPARERS) {
    it(`${path} calls constantTimeEqual`, function () {
      expect(source(path)).to.match(/constantTimeEqual\(/);
    });
  }

  it('the scan catches what it must (so this test can fail) and passes what is harmless', function () {
    const bad = [
      'if (expected === signature) ok();',
      'return user.ticket === ticket;',
      'return ticket.slice(0, 4) == user.ticket.slice(0, 4);',
      'if (a.key !== b) no();',
      'const same = Buffer.from(expected).equals(Buffer.from(signature));',
      'return timingSafeEqual(Buffer.from(a), Buffer.from(b));',
      'if (match[1] === this.config.token) ok();',
      'if (derivedKey === given) ok();',
    ];
    for (const code of bad) expect(variableTimeComparisons(code), code).to.have.length(1);
    const harmless = [
      "if (typeof answer.key === 'string') ok();",
      'if (secret !== undefined) ok();',
      'if (this.config.token === undefined) ok();',
      'return issued.keyId === keyId;',
      'if (pubkeys.length === 0) no();',
      'return constantTimeEqual(expected, signature) && secret !== undefined;',
    ];
    for (const code of harmless) expect(variableTimeComparisons(code), code).to.deep.equal([]);
  });
});
