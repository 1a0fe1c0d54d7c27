import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { withTimeout } from './wait.js';

/** Debian's `chromium` package (installed by .ci/run); tests skip, saying why, when it is missing. */
export const CHROMIUM = '/usr/bin/chromium';

export function skipWithoutChromium(context: Mocha.Context): void {
  if (!existsSync(CHROMIUM)) {
    console.log(`    (skipped: ${CHROMIUM} not found; .ci/run installs the Debian chromium package)`);
    context.skip();
  }
}

export interface HeadlessChromium {
  browser: BrowserContext;
  /** Close the browser and remove its profile directory. */
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile (playwright takes it as the persistent context's directory). */
export async function launchChromium(): Promise<HeadlessChromium> {
  const profile = mkdtempSync(join(tmpdir(), 'switchyard-chromium-'));
  try {
    const browser = await withTimeout(chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
      ],
      timeout: 30000,
    }), 35000, 'chromium launch');
    return {
      browser,
      async close() {
        await browser.close().catch(() => undefined);
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
