// tuf-js (the reference JavaScript client) against repositories written by
// our own C signing code (build/tests/tools/up-test-repo), served as static
// files on 127.0.0.1.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { Updater } from 'tuf-js';

import {
  CLIENT,
  describeRun,
  listFiles,
  missingBinary,
  runProgram,
  UP_TEST_REPO,
} from './lib/harness.mjs';
import { Key, keyIdOf, quote, SCHEMES, StaticRepository, TestServer } from './lib/simulator.mjs';

const KEYTYPE = { ed25519: 'ed25519', 'ecdsa-sha2-nistp256': 'ecdsa', 'rsassa-pss-sha256': 'rsa' };

const server = await new TestServer().start();
after(() => server.close());

const SKIP = missingBinary(UP_TEST_REPO);
// Far enough in the future whatever clock the tool counts from.
const EXPIRES_DAYS = '3650';

let counter = 0;

/** Run up-test-repo into a fresh dir; returns the dir. */
async function makeRepo(args) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'uptane-uprepo-'));
  const r = await runProgram(UP_TEST_REPO, [out, '--expires-days', EXPIRES_DAYS, ...args], { timeout: 120000 });
  assert.equal(r.code, 0, `up-test-repo failed\n${describeRun(r)}`);
  return out;
}

function readJson(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

/**
 * Every target path the repository lists, from the newest (unversioned)
 * targets.json and delegated role files, with the role that lists it.
 */
function listedTargets(out) {
  const md = path.join(out, 'metadata');
  const result = [];
  const seen = new Set();
  const visit = (role) => {
    if (seen.has(role)) return;
    seen.add(role);
    const file = path.join(md, `${quote(role)}.json`);
    assert.ok(fs.existsSync(file), `up-test-repo wrote no ${path.basename(file)} for role ${role}`);
    const signed = readJson(file).signed;
    for (const [p, info] of Object.entries(signed.targets ?? {})) result.push({ path: p, role, info });
    for (const d of signed.delegations?.roles ?? []) visit(d.name);
  };
  visit('targets');
  return result;
}

function newUpdater(out, urls, dir) {
  const metadataDir = path.join(dir, 'metadata');
  const targetDir = path.join(dir, 'targets');
  fs.mkdirSync(metadataDir, { recursive: true });
  fs.mkdirSync(targetDir, { recursive: true });
  fs.copyFileSync(path.join(out, 'initial_root.json'), path.join(metadataDir, 'root.json'));
  return {
    metadataDir,
    targetDir,
    updater: new Updater({
      metadataDir,
      metadataBaseUrl: urls.metadataUrl,
      targetDir,
      targetBaseUrl: urls.targetsUrl,
      config: { fetchRetry: 0, fetchTimeout: 20000 },
    }),
  };
}

/**
 * Serve `out`, refresh with tuf-js, download every listed target and check
 * the bytes. Returns details for further checks.
 */
async function tufjsFetchAll(out, name) {
  const repo = new StaticRepository(out);
  const id = `${name} #${++counter}`;
  const urls = server.register(id, repo);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptane-tufjs-'));
  try {
    const { metadataDir, updater } = newUpdater(out, urls, dir);
    await updater.refresh();
    const targets = listedTargets(out);
    assert.ok(targets.length > 0, 'repository lists no targets');
    for (const t of targets) {
      const info = await updater.getTargetInfo(t.path);
      assert.ok(info, `tuf-js did not find ${t.path} (listed by ${t.role})`);
      const file = await updater.downloadTarget(info);
      const got = fs.readFileSync(file);
      const plain = path.join(out, 'targets', t.path);
      assert.ok(fs.existsSync(plain), `up-test-repo wrote no targets/${t.path}`);
      assert.deepEqual(got, fs.readFileSync(plain), `bytes of ${t.path}`);
      assert.equal(got.length, t.info.length);
      assert.equal(crypto.createHash('sha256').update(got).digest('hex'), t.info.hashes.sha256);
    }
    const stored = Object.fromEntries(
      fs.readdirSync(metadataDir).map((n) => [n, fs.readFileSync(path.join(metadataDir, n))]),
    );
    return { targets, stored, requests: repo.takeRequests(), artifactRequests: repo.artifactRequests, urls };
  } finally {
    server.unregister(id);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('tuf-js accepts up-test-repo output', { skip: SKIP }, () => {
  for (const scheme of SCHEMES) {
    test(`refresh and download incl. a delegated target [${scheme}]`, async (t) => {
      const out = await makeRepo(['--scheme', scheme, '--targets', '4', '--target-size', '2000',
        '--delegate', 'delegated:dir1/*']);
      try {
        const root = readJson(path.join(out, 'initial_root.json'));
        for (const [id, k] of Object.entries(root.signed.keys)) {
          assert.equal(k.scheme, scheme);
          assert.equal(k.keytype, KEYTYPE[scheme]);
          // key id = sha256 of the canonical JSON of the key (securesystemslib convention)
          assert.equal(keyIdOf(Key.fromJSON(id, k)), id, `key id of ${JSON.stringify(k)}`);
          if (scheme === 'ed25519') assert.match(k.keyval.public, /^[0-9a-f]{64}$/);
          else assert.match(k.keyval.public, /^-----BEGIN PUBLIC KEY-----\n/);
        }
        const r = await tufjsFetchAll(out, t.name);
        assert.ok(r.targets.some((x) => x.role === 'delegated'), 'no target is delegated to "delegated"');
        assert.ok(r.targets.some((x) => x.role === 'targets'), 'no top-level target');
        assert.ok(r.requests.some(([role, v]) => role === 'delegated' && v === 1), JSON.stringify(r.requests));
        assert.deepEqual(r.requests.slice(0, 2), [['root', 2], ['timestamp', null]]);
        // tuf-js stores what it was served, which must be what the tool wrote
        for (const role of ['timestamp', 'snapshot', 'targets', 'delegated']) {
          assert.deepEqual(r.stored[`${role}.json`], fs.readFileSync(path.join(out, 'metadata', `${role}.json`)),
            `${role}.json`);
        }
        // consistent snapshot: artifacts were fetched by hash-prefixed names
        for (const a of r.artifactRequests) assert.match(a, /(^|\/)[0-9a-f]{64}\.[^/]+$/);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  }

  for (const scheme of ['ecdsa-sha2-nistp256', 'ed25519']) {
    test(`root rotation with --root-versions 3 [${scheme}]`, async (t) => {
      const out = await makeRepo(['--scheme', scheme, '--targets', '2', '--root-versions', '3',
        '--delegate', 'delegated:dir1/*']);
      try {
        assert.equal(readJson(path.join(out, 'initial_root.json')).signed.version, 1);
        for (const v of [1, 2, 3]) {
          assert.equal(readJson(path.join(out, 'metadata', `${v}.root.json`)).signed.version, v);
        }
        const r = await tufjsFetchAll(out, t.name);
        assert.deepEqual(r.requests.slice(0, 4), [['root', 2], ['root', 3], ['root', 4], ['timestamp', null]]);
        assert.ok(r.targets.some((x) => x.role === 'delegated'), 'no delegated target');
        assert.deepEqual(r.stored['root.json'], fs.readFileSync(path.join(out, 'metadata', '3.root.json')));
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    });
  }

  test('special delegated role names are written percent-encoded', async (t) => {
    const out = await makeRepo(['--targets', '3', '--delegate', '?:dir0/*', '--delegate', '../delegatedrole:dir2/*']);
    try {
      const r = await tufjsFetchAll(out, t.name);
      for (const role of ['?', '../delegatedrole']) {
        assert.ok(r.targets.some((x) => x.role === role), `no target delegated to ${role}`);
        assert.ok(r.requests.some(([n]) => n === role), `${role} not requested: ${JSON.stringify(r.requests)}`);
        assert.ok(r.stored[`${quote(role)}.json`], `tuf-js stored no ${quote(role)}.json`);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test('--no-consistent-snapshot', async (t) => {
    const out = await makeRepo(['--targets', '2', '--no-consistent-snapshot', '--delegate', 'delegated:dir1/*']);
    try {
      assert.equal(readJson(path.join(out, 'initial_root.json')).signed.consistent_snapshot, false);
      const r = await tufjsFetchAll(out, t.name);
      assert.ok(r.requests.some(([n, v]) => n === 'snapshot' && v === null), JSON.stringify(r.requests));
      assert.ok(r.requests.some(([n, v]) => n === 'targets' && v === null), JSON.stringify(r.requests));
      assert.deepEqual(r.artifactRequests.sort(), r.targets.map((x) => x.path).sort());
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test('--meta-hashes (length and sha256 in timestamp/snapshot meta)', async (t) => {
    const out = await makeRepo(['--targets', '3', '--meta-hashes', '--delegate', 'delegated:dir1/*']);
    try {
      const ts = readJson(path.join(out, 'metadata', 'timestamp.json')).signed;
      assert.ok(ts.meta['snapshot.json'].hashes?.sha256, 'timestamp meta has no sha256');
      const r = await tufjsFetchAll(out, t.name);
      assert.ok(r.targets.some((x) => x.role === 'delegated'), 'no delegated target');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test('large artifact', async (t) => {
    const out = await makeRepo(['--targets', '1', '--target-size', String(3 * 1024 * 1024 + 17)]);
    try {
      const r = await tufjsFetchAll(out, t.name);
      assert.equal(r.targets[0].info.length, 3 * 1024 * 1024 + 17);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  test('uptane-tuf-client and tuf-js store the same bytes', {
    skip: missingBinary(CLIENT),
  }, async (t) => {
    const out = await makeRepo(['--targets', '3', '--root-versions', '2', '--delegate', 'delegated:dir1/*']);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptane-both-'));
    const id = `${t.name} #${++counter}`;
    try {
      const js = await tufjsFetchAll(out, t.name);
      const urls = server.register(id, new StaticRepository(out));
      const md = path.join(dir, 'metadata');
      const td = path.join(dir, 'targets');
      fs.mkdirSync(md);
      fs.mkdirSync(td);
      const run = async (args) => {
        const r = await runProgram(CLIENT, args);
        assert.ok(r.code === 0 || r.code === 1, `exit code must be 0 or 1\n${describeRun(r)}`);
        return r;
      };
      let r = await run(['--metadata-dir', md, 'init', path.join(out, 'initial_root.json')]);
      assert.equal(r.code, 0, describeRun(r));
      r = await run(['--metadata-url', urls.metadataUrl, '--metadata-dir', md,
        ...js.targets.flatMap((x) => ['--target-name', x.path]),
        '--target-dir', td, '--target-base-url', urls.targetsUrl, 'download']);
      assert.equal(r.code, 0, describeRun(r));
      const ours = Object.fromEntries(
        fs.readdirSync(md).filter((n) => n.endsWith('.json')).map((n) => [n, fs.readFileSync(path.join(md, n))]),
      );
      assert.deepEqual(Object.keys(ours).sort(), Object.keys(js.stored).filter((n) => n.endsWith('.json')).sort());
      for (const [n, b] of Object.entries(ours)) assert.deepEqual(b, js.stored[n], n);
      const got = listFiles(td).map((p) => fs.readFileSync(p).toString('hex')).sort();
      const want = js.targets.map((x) => fs.readFileSync(path.join(out, 'targets', x.path)).toString('hex')).sort();
      assert.deepEqual(got, want);
    } finally {
      server.unregister(id);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
