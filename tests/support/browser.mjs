// Headless Chromium (Debian's) for tests that need a real browser without a driver: the DOM
// after scripts ran, and screenshots.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

// Without these, Chromium stalls on this closed network (see README "Testing").
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

async function chromium(args) {
  const profile = mkdtempSync(join(tmpdir(), "edgeward-chromium-"));
  try {
    const { stdout } = await run(CHROMIUM, [...FLAGS, `--user-data-dir=${profile}`, ...args], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The serialised DOM of `url` after its scripts ran (virtual time lets fetches settle). */
export function dumpDom(url) {
  return chromium(["--virtual-time-budget=10000", "--dump-dom", url]);
}

/** Saves a PNG of `url` at `path`. */
export async function screenshot(url, path, size = "1000,600") {
  await chromium(["--virtual-time-budget=10000", `--window-size=${size}`, `--screenshot=${path}`, url]);
}
