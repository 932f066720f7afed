// What the console's end-to-end specs share: signing in with a token, and screenshots of a page
// at 1280 px and on a 10-inch tablet (portrait) for review, in .test-results/e2e/screenshots.
import { join } from 'node:path';

import { expect, type Page } from '@playwright/test';

const SCREENSHOTS = join(import.meta.dirname, '..', '.test-results', 'e2e', 'screenshots');

export async function consoleShot(page: Page, name: string): Promise<void> {
  for (const [label, size] of [
    ['1280', { width: 1280, height: 800 }],
    ['tablet', { width: 800, height: 1280 }],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SCREENSHOTS, `console-${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Signs in at `origin` with an API token and waits for the overview. */
export async function signInToConsole(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/admin/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
}
