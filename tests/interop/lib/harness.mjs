// Helpers shared by the interop tests: locating the build, running the
// uptane-tuf-client CLI exactly the way the tuf-conformance suite does, and
// inspecting its metadata and target directories.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { quote } from './simulator.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');

export const BUILD_DIR = path.resolve(process.env.UPTANE_BUILD_DIR || path.join(REPO_ROOT, 'build'));
export const CLIENT = path.join(BUILD_DIR, 'src', 'tuf-client', 'uptane-tuf-client');
// build/tests/tools/up-test-repo, or build/tests/up-test-repo where meson
// puts an executable declared in tests/meson.build.
export const UP_TEST_REPO = [
  path.join(BUILD_DIR, 'tests', 'tools', 'up-test-repo'),
  path.join(BUILD_DIR, 'tests', 'up-test-repo'),
].find((p) => isExecutable(p)) ?? path.join(BUILD_DIR, 'tests', 'tools', 'up-test-repo');

/** Seconds a single client process may run. */
export const CLIENT_TIMEOUT_MS = Number(process.env.CLIENT_TIMEOUT || 60) * 1000;

export function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Skip reason for node:test when `bin` is missing, else false. */
export function missingBinary(bin) {
  return isExecutable(bin) ? false : `${bin} not built (set UPTANE_BUILD_DIR or build with ninja -C build)`;
}

let faketimeCache;
/** Path of a working faketime binary, or null. */
export function faketimeBinary() {
  if (faketimeCache !== undefined) return faketimeCache;
  faketimeCache = null;
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir || '.', 'faketime');
    if (!isExecutable(p)) continue;
    try {
      const out = execFileSync(p, ['2031-02-03 04:05:06', 'date', '-u', '+%Y'], { timeout: 10000 }).toString().trim();
      if (out === '2031') faketimeCache = p;
    } catch {
      /* not usable */
    }
    break;
  }
  return faketimeCache;
}

/** "YYYY-MM-DD HH:MM:SS+00:00" `days` from now, the form the suite passes to faketime. */
export function faketimeStamp(days) {
  const d = new Date(Date.now() + days * 86400 * 1000);
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '+00:00');
}

/** Run a program asynchronously (the HTTP server lives in this process, so
 *  nothing may block the event loop). Resolves with {code, signal, stdout, stderr}. */
export function runProgram(file, args, { timeout = CLIENT_TIMEOUT_MS, env = process.env } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, env, encoding: 'utf8' },
      (err, stdout, stderr) => {
        let code = 0;
        let signal = null;
        if (err) {
          if (typeof err.code === 'number') code = err.code;
          else code = null;
          signal = err.signal ?? null;
          if (err.killed) signal = signal ?? 'SIGKILL';
          if (code === null && !signal) stderr += `\n[spawn error: ${err.message}]`;
        }
        resolve({ code, signal, stdout, stderr, argv: [file, ...args] });
      });
  });
}

export function describeRun(r) {
  const tail = (s) => (s.length > 4000 ? '...' + s.slice(-4000) : s);
  return `command: ${r.argv.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n` +
    `exit code: ${r.code} signal: ${r.signal}\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`;
}

/** Recursively list regular files under `dir`. */
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/**
 * One client "installation": a fresh temp dir with metadata/, targets/ and
 * initial_root.json, wired to a repository registered on a TestServer.
 */
export class ClientUnderTest {
  constructor(server, repo, testId, { initialRoot } = {}) {
    this.server = server;
    this.repo = repo;
    this.testId = testId;
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), 'uptane-interop-'));
    this.metadataDir = path.join(this.base, 'metadata');
    this.targetDir = path.join(this.base, 'targets');
    fs.mkdirSync(this.metadataDir);
    fs.mkdirSync(this.targetDir);
    this.rootFile = path.join(this.base, 'initial_root.json');
    fs.writeFileSync(this.rootFile, initialRoot ?? repo.published('root', 1));
    const urls = server.register(testId, repo);
    this.metadataUrl = urls.metadataUrl;
    this.targetsUrl = urls.targetsUrl;
    this.runs = [];
  }

  cleanup() {
    this.server.unregister(this.testId);
    fs.rmSync(this.base, { recursive: true, force: true });
  }

  async _run(args, { faketime } = {}) {
    let file = CLIENT;
    let argv = args;
    if (faketime) {
      const ft = faketimeBinary();
      if (!ft) throw new Error('faketime requested but not available');
      file = ft;
      argv = [faketime, CLIENT, ...args];
    }
    const r = await runProgram(file, argv);
    this.runs.push(r);
    if (r.code !== 0 && r.code !== 1) {
      throw new Error(`client exit status must be exactly 0 or 1\n${describeRun(r)}`);
    }
    return r;
  }

  init(rootFile = this.rootFile) {
    return this._run(['--metadata-dir', this.metadataDir, 'init', rootFile]);
  }

  refresh(opts) {
    return this._run(['--metadata-url', this.metadataUrl, '--metadata-dir', this.metadataDir, 'refresh'], opts);
  }

  download(names, opts) {
    const list = Array.isArray(names) ? names : [names];
    return this._run([
      '--metadata-url', this.metadataUrl,
      '--metadata-dir', this.metadataDir,
      ...list.flatMap((n) => ['--target-name', n]),
      '--target-dir', this.targetDir,
      '--target-base-url', this.targetsUrl,
      'download',
    ], opts);
  }

  /** Sorted names of the *.json files directly in the metadata dir. */
  metadataFiles() {
    return fs.readdirSync(this.metadataDir).filter((n) => n.endsWith('.json')).sort();
  }

  /** Every entry in the metadata dir (any suffix, not recursive). */
  metadataEntries() {
    return fs.readdirSync(this.metadataDir).sort();
  }

  metadataBytes(role) {
    const p = path.join(this.metadataDir, `${quote(role)}.json`);
    return fs.existsSync(p) ? fs.readFileSync(p) : null;
  }

  /** [[role, version], ...] for every *.json in the metadata dir, sorted,
   *  the way the suite's trusted_roles() sees them. */
  trustedRoles() {
    return this.metadataFiles().map((n) => {
      const md = JSON.parse(fs.readFileSync(path.join(this.metadataDir, n)));
      return [decodeURIComponent(n.slice(0, -5)), md.signed.version];
    });
  }

  /** Contents (utf8) of every regular file under the target dir, by mtime. */
  artifacts() {
    return listFiles(this.targetDir)
      .map((p) => ({ p, st: fs.statSync(p) }))
      .sort((a, b) => a.st.mtimeMs - b.st.mtimeMs || (a.p < b.p ? -1 : 1))
      .map(({ p }) => fs.readFileSync(p, 'utf8'));
  }

  artifactStats() {
    return listFiles(this.targetDir).map((p) => ({ path: p, mtimeMs: fs.statSync(p).mtimeMs })).sort((a, b) => (a.path < b.path ? -1 : 1));
  }
}
