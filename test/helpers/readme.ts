import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** README.md of the repository (tests run from dist/test/...). */
export const README = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

/** The text of a `## heading` section, up to the next `## ` heading. */
export function readmeSection(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "## ${heading}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The text of a `### heading` subsection, up to the next `## ` or `### ` heading. */
export function readmeSubsection(heading: string): string {
  const start = README.indexOf(`\n### ${heading}\n`);
  if (start < 0) throw new Error(`README has no subsection "### ${heading}"`);
  const rest = README.slice(start + 1);
  const end = rest.search(/\n#{2,3} /);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The fenced code blocks of `language` in a text, as written (without the fences). */
export function codeBlocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)\\n?```', 'g'))].map((m) => m[1]!);
}

/** The ```json code blocks of a text, as written. */
export function jsonBlocks(text: string): string[] {
  return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The first fenced block of `language` under a `## ` or `### ` heading (given with its hashes). */
export function readmeBlock(heading: string, language: string): string {
  const level = heading.startsWith('### ') ? 'sub' : 'section';
  const title = heading.replace(/^#+ /, '');
  const block = codeBlocks(level === 'sub' ? readmeSubsection(title) : readmeSection(title), language)[0];
  if (block === undefined) throw new Error(`README "${heading}" has no ${language} block`);
  return block;
}

/**
 * The worked example of README "Permissions", exactly as written: a `"roles": [...]` fragment,
 * parsed by wrapping it in braces. Also returns the paragraph under it (the promises it makes).
 */
export function readmePermissionsExample(): { roles: { name: string; permissions: any[] }[]; paragraph: string } {
  const section = readmeSection('Permissions');
  const block = jsonBlocks(section).find((b) => b.trimStart().startsWith('"roles"'));
  if (block === undefined) throw new Error('README "Permissions" has no "roles" example');
  const after = section.slice(section.indexOf(block) + block.length).replace(/^```\n+/, '');
  return { roles: (JSON.parse(`{${block}}`) as { roles: any[] }).roles, paragraph: after.split('\n\n')[0]!.replace(/\s+/g, ' ').trim() };
}
