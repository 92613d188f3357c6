// Browser tests of the pages `usestats serve` sends: Playwright drives
// Debian's Chromium (never a downloaded browser) against a server that
// global-setup.js builds and starts on 127.0.0.1. See README.md.
import { defineConfig } from '@playwright/test';
import { artifacts } from './tests/paths.js';

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.js',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  outputDir: `${artifacts}/playwright`,
  use: {
    headless: true,
    viewport: { width: 1280, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-GB',
    acceptDownloads: true,
    serviceWorkers: 'block',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.USESTATS_CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    },
  },
});
