'use strict';
// Starts what a browser test needs: a tiny neutral web server (where the quick exit goes)
// and the reachline binary on a fresh data directory, each on a free port. Everything is
// stopped and the temporary directory removed by `stop()`.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const E2E_DIR = path.resolve(__dirname, '..');
const DEFAULT_BIN = path.resolve(E2E_DIR, '..', 'target', 'debug', 'reachline');
const START_TIMEOUT_MS = 30_000;

/** Title and marker text of the neutral page, so tests can recognise it. */
const NEUTRAL_TITLE = 'Weather forecast';
const NEUTRAL_MARKER = 'neutral-page';

/** A TCP port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function withoutReachlineVars(env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('REACHLINE_')));
}

/** The neutral destination of the quick exit: an everyday page with nothing of ours. */
async function startNeutral() {
  const port = await freePort();
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: { ...req.headers } });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(
      '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
        `<title>${NEUTRAL_TITLE}</title></head><body>` +
        `<h1 id="${NEUTRAL_MARKER}">${NEUTRAL_TITLE}</h1><p>Sunny spells, light winds.</p>` +
        '</body></html>',
    );
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/neutral`,
    /** Requests the neutral site received: `[{ url, headers }]`. */
    requests: () => seen.slice(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * Starts the neutral server and reachline. Returns
 * `{ base, origin, bin, dataDir, configPath, neutral: {origin, url, requests()}, logs(), stop() }`; `logs()` is the server's
 * stderr so far (its log lines), useful in failure messages.
 */
async function startServers(options = {}) {
  const bin = process.env.REACHLINE_BIN
    ? path.resolve(E2E_DIR, process.env.REACHLINE_BIN)
    : DEFAULT_BIN;
  if (!fs.existsSync(bin)) {
    throw new Error(`reachline binary not found at ${bin}: run \`cargo build\` first or set REACHLINE_BIN`);
  }
  const neutral = await startNeutral();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reachline-e2e-'));
  const dataDir = path.join(dir, 'data');
  const configPath = path.join(dir, 'reachline.toml');
  const extra = options.extraConfig ?? '';
  fs.writeFileSync(
    configPath,
    `[site]\npseudo_locales = true\nquick_exit_url = "${neutral.url}"\n${extra}`,
  );
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const child = spawn(bin, ['serve', '--config', configPath, '--data-dir', dataDir, '--listen', listen], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Our own settings only: REACHLINE_* variables from the caller's shell would override
    // the config file (e.g. a database URL), and REACHLINE_BIN is not a setting.
    env: { ...withoutReachlineVars(process.env), NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stdout.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
  });

  const cleanup = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await neutral.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };

  let base;
  try {
    base = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reachline did not say it was listening within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /Reachline is listening on (http:\/\/\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1].replace(/\/$/, ''));
        }
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`reachline exited early (code ${code}, signal ${signal})`));
      });
    });
  } catch (e) {
    await cleanup();
    throw new Error(`${e.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
  }

  let stopped = false;
  return {
    base,
    origin: new URL(base).origin,
    bin,
    dataDir,
    configPath,
    neutral: { origin: neutral.origin, url: neutral.url, requests: neutral.requests },
    logs: () => stderr,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cleanup();
    },
  };
}

module.exports = { startServers, freePort, NEUTRAL_TITLE, NEUTRAL_MARKER };
