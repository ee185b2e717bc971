// Debian's Chromium driven by playwright-core for the dashboard's end-to-end tests. No browser is ever downloaded:
// when /usr/bin/chromium is missing, `apt-get install -y chromium` runs once (as CI does), and a machine where that
// cannot work fails with a message saying what to do.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

let installed = false;

/** The Chromium executable, installed with apt-get on first use if missing. */
export function ensureChromium(): string {
  if (installed || fs.existsSync(CHROMIUM)) {
    installed = true;
    return CHROMIUM;
  }
  const apt = (...args: string[]) => execFileSync('apt-get', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  try {
    try {
      apt('install', '-y', 'chromium');
    } catch {
      apt('update'); // a fresh image has no package lists yet
      apt('install', '-y', 'chromium');
    }
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(
      `${CHROMIUM} is missing and \`apt-get install -y chromium\` failed (${(err.stderr?.toString() || err.message).trim().split('\n').slice(-3).join(' / ')}). ` +
        'Install Debian\'s chromium package (as root: apt-get update && apt-get install -y chromium) and rerun; the tests never download a browser.',
    );
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get install -y chromium finished but ${CHROMIUM} does not exist`);
  installed = true;
  return CHROMIUM;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile folder (removed on close), 1280x800. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = ensureChromium();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'probity-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go (test-artifacts/dashboard/, gitignored). */
export function artifactPath(name: string): string {
  const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test-artifacts/dashboard');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
