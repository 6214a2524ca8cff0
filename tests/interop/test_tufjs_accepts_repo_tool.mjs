// tuf-js (the reference JavaScript client) against repositories written by
// uptane-repo, the production repository tool (UPTANE_BUILD_DIR/src/repo/
// uptane-repo): an Image repository (targets, a delegation, delegated
// targets) and a Director vehicle, served as static files on 127.0.0.1,
// before and after root and timestamp key rotations.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { Updater } from 'tuf-js';

import { BUILD_DIR, describeRun, missingBinary, runProgram } from './lib/harness.mjs';
import { StaticRepository, TestServer } from './lib/simulator.mjs';

const UPTANE_REPO = path.join(BUILD_DIR, 'src', 'repo', 'uptane-repo');
const SKIP = missingBinary(UPTANE_REPO);

const server = await new TestServer().start();
after(() => server.close());

let counter = 0;

async function tool(...args) {
  const r = await runProgram(UPTANE_REPO, args, { timeout: 180000 });
  assert.equal(r.code, 0, `uptane-repo failed\n${describeRun(r)}`);
  return r;
}

function readJson(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

/** Image repository: three targets, a delegation with one target. Returns
 *  {base, img, targets: {name: Buffer}}. */
async function makeImageRepo(scheme) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'uptane-repo-tool-'));
  const img = path.join(base, 'image');
  const targets = {
    'firmware.img': crypto.randomBytes(3000),
    'fw/b.bin': Buffer.from('second image\n'),
    'c.bin': crypto.randomBytes(17),
    'dir1/d.img': Buffer.from('delegated image\n'),
  };
  const files = {};
  for (const [name, data] of Object.entries(targets)) {
    files[name] = path.join(base, name.replace(/\//g, '_'));
    fs.writeFileSync(files[name], data);
  }
  await tool('init', '--repo', img, '--scheme', scheme);
  await tool('add-target', '--repo', img, files['firmware.img'], '--hardware-id', 'hw-a', '--release-counter', '3');
  await tool('add-target', '--repo', img, files['fw/b.bin'], '--name', 'fw/b.bin', '--hardware-id', 'hw-b',
    '--format', 'OSTREE', '--uri', 'https://example.org/b');
  await tool('add-target', '--repo', img, files['c.bin'], '--name', 'c.bin');
  await tool('delegate', '--repo', img, 'supplier', '--path', 'dir1/*');
  await tool('add-target', '--repo', img, files['dir1/d.img'], '--name', 'dir1/d.img', '--role', 'supplier');
  await tool('publish', '--repo', img);
  return { base, img, targets };
}

/** A tuf-js client of `serveDir` (a dir with metadata/ and targets/), trusting
 *  its root version 1, with its own metadata and target dirs. */
class Client {
  constructor(serveDir, name) {
    this.id = `${name} #${++counter}`;
    this.repo = new StaticRepository(serveDir);
    this.urls = server.register(this.id, this.repo);
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptane-tufjs-'));
    this.metadataDir = path.join(this.dir, 'metadata');
    this.targetDir = path.join(this.dir, 'targets');
    fs.mkdirSync(this.metadataDir);
    fs.mkdirSync(this.targetDir);
    fs.copyFileSync(path.join(serveDir, 'metadata', '1.root.json'), path.join(this.metadataDir, 'root.json'));
  }

  /** A refresh by a new Updater over the same dirs (like a new process),
   *  then every target downloaded and compared. */
  async fetchAll(targets) {
    const updater = new Updater({
      metadataDir: this.metadataDir,
      metadataBaseUrl: this.urls.metadataUrl,
      targetDir: this.targetDir,
      targetBaseUrl: this.urls.targetsUrl,
      config: { fetchRetry: 0, fetchTimeout: 20000 },
    });
    await updater.refresh();
    const infos = {};
    for (const [name, data] of Object.entries(targets)) {
      const info = await updater.getTargetInfo(name);
      assert.ok(info, `tuf-js did not find ${name}`);
      const file = await updater.downloadTarget(info, path.join(this.targetDir, encodeURIComponent(name)));
      assert.deepEqual(fs.readFileSync(file), data, `bytes of ${name}`);
      infos[name] = info;
    }
    return infos;
  }

  trustedVersion(role) {
    return readJson(path.join(this.metadataDir, `${role}.json`)).signed.version;
  }

  cleanup() {
    server.unregister(this.id);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('tuf-js accepts what uptane-repo writes', { skip: SKIP }, () => {
  for (const scheme of ['ed25519', 'ecdsa', 'rsa']) {
    test(`Image repository before and after rotate root and rotate timestamp [${scheme}]`, async (t) => {
      const { base, img, targets } = await makeImageRepo(scheme);
      const old = new Client(img, t.name);
      try {
        const infos = await old.fetchAll(targets);
        assert.deepEqual(infos['firmware.img'].custom, { hardwareIds: ['hw-a'], releaseCounter: 3, targetFormat: 'BINARY' });
        assert.equal(infos['fw/b.bin'].custom.uri, 'https://example.org/b');
        assert.ok(old.repo.requests.some(([role, v]) => role === 'supplier' && v === 1), JSON.stringify(old.repo.requests));
        // consistent snapshot: images fetched as HASH.name
        for (const a of old.repo.artifactRequests) assert.match(a, /(^|\/)[0-9a-f]{64}\.[^/]+$/);

        await tool('rotate', '--repo', img, 'root');
        await tool('publish', '--repo', img);
        assert.equal(readJson(path.join(img, 'metadata', '2.root.json')).signatures.length, 2);
        await old.fetchAll(targets);
        assert.equal(old.trustedVersion('root'), 2);

        await tool('rotate', '--repo', img, 'timestamp');
        await tool('publish', '--repo', img);
        await old.fetchAll(targets);
        assert.equal(old.trustedVersion('root'), 3);

        const fresh = new Client(img, t.name);
        try {
          await fresh.fetchAll(targets);
          assert.deepEqual(fresh.repo.requests.slice(0, 4), [['root', 2], ['root', 3], ['root', 4], ['timestamp', null]]);
        } finally {
          fresh.cleanup();
        }
      } finally {
        old.cleanup();
        fs.rmSync(base, { recursive: true, force: true });
      }
    });
  }

  test('Director vehicle before and after rotate root and rotate timestamp', async (t) => {
    const { base, img, targets } = await makeImageRepo('ed25519');
    const dir = path.join(base, 'director');
    const vehicle = path.join(dir, 'vehicles', 'democar');
    const assigned = { 'firmware.img': targets['firmware.img'], 'fw/b.bin': targets['fw/b.bin'] };
    await tool('director', 'init', '--repo', dir);
    await tool('director', 'assign', '--repo', dir, '--image-repo', img, 'democar', 'ecu1', 'firmware.img');
    await tool('director', 'assign', '--repo', dir, '--image-repo', img, 'democar', 'ecu2', 'fw/b.bin');
    const c = new Client(vehicle, t.name);
    try {
      const infos = await c.fetchAll(assigned);
      assert.deepEqual(infos['firmware.img'].custom, {
        ecuIdentifiers: { ecu1: { hardwareId: 'hw-a' } }, releaseCounter: 3, targetFormat: 'BINARY',
      });
      const signed = readJson(path.join(c.metadataDir, 'targets.json')).signed;
      assert.equal(signed.custom.vin, 'democar');

      await tool('rotate', '--repo', dir, 'root');
      await tool('publish', '--repo', dir);
      await c.fetchAll(assigned);
      await tool('rotate', '--repo', dir, 'timestamp');
      await tool('publish', '--repo', dir);
      await c.fetchAll(assigned);
      assert.equal(c.trustedVersion('root'), 3);

      // an empty targets still carries the VIN, and tuf-js accepts it
      await tool('director', 'clear', '--repo', dir, 'democar');
      await c.fetchAll({});
      const empty = readJson(path.join(c.metadataDir, 'targets.json')).signed;
      assert.deepEqual(empty.targets, {});
      assert.equal(empty.custom.vin, 'democar');
    } finally {
      c.cleanup();
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
