// A small W3C WebDriver client for Debian's chromedriver + chromium: enough to drive the app
// like a person (navigate, type, click), run a script in the page, read cookies (including
// HttpOnly ones, which page scripts cannot see) and take screenshots.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// Without these, Chromium stalls on this closed network (see README "Testing").
export const CHROMIUM_FLAGS = [
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

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export class Browser {
  static async start() {
    const port = await freePort();
    const driver = spawn(process.env.CHROMEDRIVER || "/usr/bin/chromedriver", [`--port=${port}`], {
      stdio: "ignore",
      detached: true,
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/status`)).ok) break;
      } catch {}
      if (i > 100) throw new Error("chromedriver did not start");
      await sleep(100);
    }
    const res = await fetch(`${base}/session`, {
      method: "POST",
      body: JSON.stringify({
        capabilities: {
          alwaysMatch: {
            browserName: "chrome",
            "goog:loggingPrefs": { browser: "ALL" },
            "goog:chromeOptions": {
              binary: CHROMIUM,
              args: [
                ...CHROMIUM_FLAGS,
                "--window-size=1100,760",
                `--user-data-dir=${mkdtempSync(join(tmpdir(), "edgeward-e2e-"))}`,
              ],
            },
          },
        },
      }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`cannot start a browser session: ${JSON.stringify(body)}`);
    return new Browser(base, body.value.sessionId, driver);
  }

  constructor(base, id, driver) {
    this.url = `${base}/session/${id}`;
    this.driver = driver;
  }

  async cmd(method, path, body) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${JSON.stringify(json.value)}`);
    return json.value;
  }

  goto(url) {
    return this.cmd("POST", "/url", { url });
  }
  currentUrl() {
    return this.cmd("GET", "/url");
  }
  /** Runs `fn(...args)` in the page (it may return a promise) and returns its result. */
  run(fn, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve((${fn.toString()})(...Array.from(arguments).slice(0, -1)))
        .then(done, (e) => done({ __error: String(e) }));`;
    return this.cmd("POST", "/execute/async", { script, args });
  }
  async find(css) {
    const el = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return el[ELEMENT];
  }
  async type(css, text) {
    await this.cmd("POST", `/element/${await this.find(css)}/value`, { text });
  }
  async click(css) {
    await this.cmd("POST", `/element/${await this.find(css)}/click`, {});
  }
  /** The page's serialised DOM. */
  html() {
    return this.cmd("POST", "/execute/sync", { script: "return document.documentElement.outerHTML", args: [] });
  }
  /** Waits until `fn()` (in the page) is truthy. */
  async until(fn, timeoutMs = 10_000, what = "condition") {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const v = await this.cmd("POST", "/execute/sync", { script: `return (${fn.toString()})()`, args: [] });
        if (v) return v;
      } catch {}
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }
  /** The browser console's entries since the last call ({level, message, source}). */
  consoleLog() {
    return this.cmd("POST", "/se/log", { type: "browser" });
  }
  /** Deletes every cookie of the current page's host (any port: cookies ignore ports). */
  clearCookies() {
    return this.cmd("DELETE", "/cookie");
  }
  /** This tab's handle. */
  tab() {
    return this.cmd("GET", "/window");
  }
  /** Opens a new tab and returns its handle (the current tab stays current). */
  async newTab() {
    return (await this.cmd("POST", "/window/new", { type: "tab" })).handle;
  }
  /** Makes the tab `handle` the one commands go to. */
  switchTo(handle) {
    return this.cmd("POST", "/window", { handle });
  }
  /** Every cookie the browser holds for the current page, HttpOnly ones included. */
  cookies() {
    return this.cmd("GET", "/cookie");
  }
  async screenshot(path) {
    writeFileSync(path, Buffer.from(await this.cmd("GET", "/screenshot"), "base64"));
  }
  async stop() {
    try {
      await fetch(this.url, { method: "DELETE" });
    } catch {}
    try {
      process.kill(-this.driver.pid, "SIGTERM");
    } catch {}
  }
}
