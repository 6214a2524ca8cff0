// uptane-tuf-client against repositories written with @tufjs/models.
//
// Each test builds a repository with lib/simulator.mjs, serves it on
// 127.0.0.1 and runs the CLI as separate processes (init / refresh /
// download), as described in the tuf-client CLI protocol note
// (tuf-client-cli-protocol.md in the shared notes).
// Every CLI run must exit with exactly 0 or 1.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { Updater } from 'tuf-js';

import {
  ClientUnderTest,
  CLIENT,
  describeRun,
  faketimeBinary,
  faketimeStamp,
  missingBinary,
} from './lib/harness.mjs';
import {
  DelegatedRole,
  Delegations,
  generateSigner,
  isoExpiry,
  Metadata,
  MetaFile,
  quote,
  RepositorySimulator,
  SCHEMES,
  serialize,
  signMetadata,
  signRawJson,
  TestServer,
  TargetFile,
} from './lib/simulator.mjs';

const server = await new TestServer().start();
after(() => server.close());

const SKIP = missingBinary(CLIENT);

/** Run fn(client, sim) with a fresh client dir; clean up afterwards. */
let testCounter = 0;
async function withClient(t, sim, fn, opts) {
  // test ids contain spaces, brackets, '#', ... and are percent-encoded in
  // the URL: the client must use the base URL byte for byte.
  const c = new ClientUnderTest(server, sim, `${t.name} #${++testCounter}`, opts);
  try {
    await fn(c);
  } finally {
    c.cleanup();
  }
}

function expectExit(r, code, what = '') {
  assert.equal(r.code, code, `${what ? what + ': ' : ''}expected exit ${code}\n${describeRun(r)}`);
}

function top(sim) {
  return (n) => sim.published(n, sim[n].signed.version);
}

/** Standard repository: two top-level artifacts, published as version 1. */
function standardSim(opts) {
  const sim = new RepositorySimulator(opts);
  sim.addTarget('targets', 'file.txt', 'top-level artifact\n');
  sim.addTarget('targets', 'path/to/a/target_file.txt', 'nested artifact\n');
  sim.republishAll();
  return sim;
}

const FIRST_REFRESH = [['root', 2], ['timestamp', null], ['snapshot', 1], ['targets', 1]];

// ---------------------------------------------------------------------------

describe('key types', { skip: SKIP }, () => {
  for (const scheme of SCHEMES) {
    test(`init, refresh, download [${scheme}]`, async (t) => {
      const sim = standardSim({ scheme });
      await withClient(t, sim, async (c) => {
        expectExit(await c.init(), 0, 'init');
        assert.equal(sim.takeRequests().length, 0, 'init must make no request');
        assert.deepEqual(c.metadataFiles(), ['root.json']);
        assert.deepEqual(fs.readFileSync(path.join(c.metadataDir, 'root.json')), sim.published('root', 1));

        expectExit(await c.refresh(), 0, 'refresh');
        assert.deepEqual(sim.takeRequests(), FIRST_REFRESH);
        assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 1], ['targets', 1], ['timestamp', 1]]);
        const pub = top(sim);
        for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
          assert.deepEqual(c.metadataBytes(role), pub(role), `${role}.json must hold the served bytes`);
        }
        assert.deepEqual(c.artifacts(), [], 'refresh must not download artifacts');

        expectExit(await c.download(['file.txt', 'path/to/a/target_file.txt']), 0, 'download');
        assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null]]);
        const h1 = sim.targets.signed.targets['file.txt'].hashes.sha256;
        const h2 = sim.targets.signed.targets['path/to/a/target_file.txt'].hashes.sha256;
        assert.deepEqual(sim.takeArtifactRequests(), [`${h1}.file.txt`, `path/to/a/${h2}.target_file.txt`]);
        assert.deepEqual(c.artifacts().sort(), ['nested artifact\n', 'top-level artifact\n']);
        assert.deepEqual(c.metadataFiles(), ['root.json', 'snapshot.json', 'targets.json', 'timestamp.json']);
      });
    });

    test(`delegated role signed with ${scheme} under ecdsa top-level`, async (t) => {
      const sim = new RepositorySimulator();
      sim.addDelegation('targets', 'role1', { paths: ['role1/*'], scheme });
      sim.addTarget('role1', 'role1/a.bin', crypto.randomBytes(1000));
      sim.republishAll();
      await withClient(t, sim, async (c) => {
        await c.init();
        expectExit(await c.download('role1/a.bin'), 0, 'download');
        assert.deepEqual(sim.takeRequests(), [...FIRST_REFRESH, ['role1', 1]]);
        assert.deepEqual(c.metadataBytes('role1'), sim.published('role1', 1));
        assert.equal(sim.takeArtifactRequests().length, 1);
      });
    });
  }
});

// ---------------------------------------------------------------------------

describe('request sequences and caching', { skip: SKIP }, () => {
  test('unchanged refresh only asks for the next root and the timestamp', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.takeRequests();
      const before = Object.fromEntries(c.metadataFiles().map((n) => [n, fs.readFileSync(path.join(c.metadataDir, n))]));
      expectExit(await c.refresh(), 0, 'second refresh');
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null]]);
      for (const [n, b] of Object.entries(before)) {
        assert.deepEqual(fs.readFileSync(path.join(c.metadataDir, n)), b, `${n} changed`);
      }
    });
  });

  test('new snapshot with unchanged targets reuses cached targets.json', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.takeRequests();
      sim.updateSnapshot(); // snapshot 2, timestamp 2, targets still 1
      expectExit(await c.refresh(), 0);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null], ['snapshot', 2]]);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 2], ['targets', 1], ['timestamp', 2]]);
    });
  });

  test('updated targets are fetched at the version snapshot names', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.takeRequests();
      sim.addTarget('targets', 'new.txt', 'new');
      sim.updateTargets();
      sim.updateSnapshot();
      expectExit(await c.download('new.txt'), 0);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null], ['snapshot', 2], ['targets', 2]]);
      assert.deepEqual(c.artifacts(), ['new']);
    });
  });

  test('timestamp with the same version but different bytes is not persisted', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      const stored = c.metadataBytes('timestamp');
      sim.takeRequests();
      sim.timestamp.signed.expires = isoExpiry(200);
      sim.publishTimestamp(); // still version 1
      assert.notDeepEqual(sim.timestampBytes, stored);
      expectExit(await c.refresh(), 0);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null]]);
      assert.deepEqual(c.metadataBytes('timestamp'), stored);
    });
  });

  test('metadata is stored byte for byte (trailing space, pretty printing)', async (t) => {
    const sim = standardSim({ indent: 3 });
    sim.timestampBytes = Buffer.concat([sim.timestampBytes, Buffer.from(' ')]);
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      assert.deepEqual(c.metadataBytes('timestamp'), sim.timestampBytes);
      assert.deepEqual(c.metadataBytes('snapshot'), sim.published('snapshot', 1));
      assert.deepEqual(c.metadataBytes('targets'), sim.published('targets', 1));
      assert.deepEqual(c.metadataEntries(), ['root.json', 'snapshot.json', 'targets.json', 'timestamp.json'],
        'no other files may be left directly in the metadata dir');
    });
  });

  test('cached artifact is not requested again and not rewritten', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('file.txt'), 0);
      assert.equal(sim.takeArtifactRequests().length, 1);
      const st = c.artifactStats();
      await new Promise((r) => setTimeout(r, 50));
      expectExit(await c.download('file.txt'), 0, 'second download');
      assert.deepEqual(sim.takeArtifactRequests(), [], 'cached artifact re-requested');
      assert.deepEqual(c.artifactStats(), st, 'cached artifact rewritten');
      assert.deepEqual(c.artifacts(), ['top-level artifact\n']);
    });
  });

  test('new version of an artifact replaces the old one in place', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('file.txt'), 0);
      sim.addTarget('targets', 'file.txt', 'version two\n');
      sim.updateTargets();
      sim.updateSnapshot();
      expectExit(await c.download('file.txt'), 0);
      assert.deepEqual(c.artifacts(), ['version two\n']);
    });
  });

  test('sha256 + sha512 and sha512-only targets', async (t) => {
    const sim = new RepositorySimulator();
    sim.addTarget('targets', 'both.bin', 'both hashes', { hashAlgs: ['sha256', 'sha512'] });
    sim.addTarget('targets', 'only512.bin', 'only sha512', { hashAlgs: ['sha512'] });
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download(['both.bin', 'only512.bin']), 0);
      assert.deepEqual(c.artifacts().sort(), ['both hashes', 'only sha512']);
      assert.equal(sim.takeArtifactRequests().length, 2);
    });
  });

  test('options are accepted in any order', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      expectExit(await c._run(['--metadata-dir', c.metadataDir, 'init', c.rootFile]), 0, 'init');
      expectExit(await c._run(['--metadata-dir', c.metadataDir, '--metadata-url', c.metadataUrl, 'refresh']), 0, 'refresh');
      expectExit(await c._run([
        '--target-base-url', c.targetsUrl,
        '--target-name', 'path/to/a/target_file.txt',
        '--metadata-dir', c.metadataDir,
        '--target-dir', c.targetDir,
        '--metadata-url', c.metadataUrl,
        '--target-name', 'file.txt',
        'download',
      ]), 0, 'download');
      assert.deepEqual(c.artifacts().sort(), ['nested artifact\n', 'top-level artifact\n']);
    });
  });

  test('without consistent snapshots unversioned names are used', async (t) => {
    const sim = standardSim({ consistentSnapshot: false });
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('path/to/a/target_file.txt'), 0);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null], ['snapshot', null], ['targets', null]]);
      assert.deepEqual(sim.takeArtifactRequests(), ['path/to/a/target_file.txt']);
      assert.deepEqual(c.artifacts(), ['nested artifact\n']);
    });
  });
});

// ---------------------------------------------------------------------------

describe('delegations', { skip: SKIP }, () => {
  for (const name of ['?', '#', '/delegatedrole', '../delegatedrole']) {
    test(`role name ${JSON.stringify(name)} is percent-encoded`, async (t) => {
      const sim = new RepositorySimulator();
      sim.addDelegation('targets', name, { paths: ['deleg/*'] });
      sim.addTarget(name, 'deleg/file.txt', `content for ${name}`);
      sim.republishAll();
      await withClient(t, sim, async (c) => {
        await c.init();
        expectExit(await c.download('deleg/file.txt'), 0);
        assert.deepEqual(sim.takeRequests(), [...FIRST_REFRESH, [name, 1]]);
        assert.deepEqual(c.metadataFiles(), [`${quote(name)}.json`, 'root.json', 'snapshot.json', 'targets.json', 'timestamp.json'].sort());
        assert.deepEqual(c.metadataBytes(name), sim.published(name, 1));
        assert.deepEqual(c.artifacts(), [`content for ${name}`]);
        // cached delegated metadata is reused on the next run
        expectExit(await c.download('deleg/file.txt'), 0);
        assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null]]);
      });
    });
  }

  test('pre-order depth-first search, each role fetched once per process', async (t) => {
    const sim = new RepositorySimulator();
    sim.addDelegation('targets', 'A', { paths: ['x/*'] });
    sim.addDelegation('A', 'C', { paths: ['x/*'] });
    sim.addDelegation('targets', 'B', { paths: ['x/*'] });
    sim.addTarget('C', 'x/in-c', 'from C');
    sim.addTarget('B', 'x/in-c', 'from B (must not win)');
    sim.addTarget('B', 'x/in-b', 'from B');
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download(['x/in-c', 'x/in-b']), 0);
      assert.deepEqual(sim.takeRequests(), [...FIRST_REFRESH, ['A', 1], ['C', 1], ['B', 1]]);
      assert.deepEqual(c.artifacts().sort(), ['from B', 'from C']);
    });
  });

  test('terminating delegation ends the search', async (t) => {
    const sim = new RepositorySimulator();
    sim.addDelegation('targets', 'A', { paths: ['x/*'], terminating: true });
    sim.addDelegation('targets', 'B', { paths: ['x/*'] });
    sim.addTarget('B', 'x/only-in-b', 'unreachable');
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('x/only-in-b'), 1);
      assert.deepEqual(sim.takeRequests(), [...FIRST_REFRESH, ['A', 1]]);
      assert.deepEqual(c.artifacts(), []);
    });
  });

  test('delegation whose paths do not match is not fetched', async (t) => {
    const sim = new RepositorySimulator();
    sim.addDelegation('targets', 'md', { paths: ['*.md'] });
    sim.addTarget('md', 'releases/README.md', 'nested md');
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('releases/README.md'), 1);
      assert.deepEqual(sim.takeRequests(), FIRST_REFRESH);
    });
  });

  test('delegated role missing from snapshot is neither fetched nor trusted', async (t) => {
    const sim = new RepositorySimulator();
    sim.addDelegation('targets', 'ghost', { paths: ['*'], listInSnapshot: false });
    sim.addTarget('ghost', 'g.txt', 'ghost');
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('g.txt'), 1);
      assert.deepEqual(sim.takeRequests(), FIRST_REFRESH);
      assert.deepEqual(c.artifacts(), []);
      assert.ok(!c.metadataFiles().includes('ghost.json'));
    });
  });

  test('delegated metadata signed by the wrong key is rejected', async (t) => {
    const sim = new RepositorySimulator();
    sim.addDelegation('targets', 'role1', { paths: ['*'] });
    sim.addTarget('role1', 'r.txt', 'r');
    sim.republishAll();
    sim.publishTargets('role1', { signers: [generateSigner()] });
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('r.txt'), 1);
      assert.ok(!c.metadataFiles().includes('role1.json'));
      assert.deepEqual(c.artifacts(), []);
    });
  });
});

// ---------------------------------------------------------------------------

describe('root rotation', { skip: SKIP }, () => {
  test('1 -> 2 -> 3 before the first refresh', async (t) => {
    const sim = standardSim();
    sim.bumpRoot({ rotate: ['root'] });
    sim.bumpRoot({ rotate: ['root', 'timestamp'] });
    sim.publishTimestamp(); // re-signed with the new timestamp key
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      assert.deepEqual(sim.takeRequests(),
        [['root', 2], ['root', 3], ['root', 4], ['timestamp', null], ['snapshot', 1], ['targets', 1]]);
      assert.deepEqual(c.metadataBytes('root'), sim.published('root', 3));
      assert.deepEqual(c.trustedRoles(), [['root', 3], ['snapshot', 1], ['targets', 1], ['timestamp', 1]]);
    });
  });

  test('1 -> 2 -> 3 with timestamp and snapshot key rotation after a refresh', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.takeRequests();
      sim.bumpRoot({ rotate: ['root', 'timestamp'] });
      sim.updateTimestamp();
      expectExit(await c.refresh(), 0, 'refresh at root 2');
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['root', 3], ['timestamp', null]]);
      sim.bumpRoot({ rotate: ['root', 'snapshot'] });
      sim.updateSnapshot();
      expectExit(await c.download('file.txt'), 0, 'download at root 3');
      assert.deepEqual(sim.takeRequests(), [['root', 3], ['root', 4], ['timestamp', null], ['snapshot', 2]]);
      assert.deepEqual(c.trustedRoles(), [['root', 3], ['snapshot', 2], ['targets', 1], ['timestamp', 3]]);
      assert.deepEqual(c.metadataBytes('root'), sim.published('root', 3));
      assert.deepEqual(c.artifacts(), ['top-level artifact\n']);
    });
  });

  test('timestamp rolled back after timestamp key rotation is accepted (fast-forward recovery)', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      sim.updateTimestamp();
      sim.updateTimestamp(); // timestamp 3
      expectExit(await c.refresh(), 0);
      assert.deepEqual(c.trustedRoles().find((r) => r[0] === 'timestamp'), ['timestamp', 3]);
      sim.bumpRoot({ rotate: ['timestamp'] });
      sim.timestamp.signed.version = 1;
      sim.publishTimestamp();
      expectExit(await c.refresh(), 0);
      assert.deepEqual(c.trustedRoles(), [['root', 2], ['snapshot', 1], ['targets', 1], ['timestamp', 1]]);
    });
  });

  test('new root not signed by the old root key is rejected', async (t) => {
    const sim = standardSim();
    sim.rotateKeys('root');
    sim.root.signed.version = 2;
    sim.publishRoot(); // only new key
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(sim.takeRequests(), [['root', 2]]);
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
    });
  });

  test('new root not signed by its own new key is rejected', async (t) => {
    const sim = standardSim();
    const old = sim.rotateKeys('root');
    sim.root.signed.version = 2;
    sim.publishRoot({ signers: old }); // only old key
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(sim.takeRequests(), [['root', 2]]);
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
    });
  });

  test('root whose version does not match its file name is rejected', async (t) => {
    const sim = standardSim();
    sim.root.signed.version = 3;
    const bytes = sim.publishRoot();
    sim.store.get('root').set(2, bytes);
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
    });
  });

  test('expired new root is persisted, then refresh fails', async (t) => {
    const sim = standardSim();
    sim.root.signed.expires = isoExpiry(-1);
    sim.bumpRoot();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      const reqs = sim.takeRequests();
      assert.deepEqual(reqs.slice(0, 2), [['root', 2], ['root', 3]]);
      // python-tuf and tuf-js still fetch timestamp.json before failing; nothing after it
      assert.ok(!reqs.some(([r]) => r === 'snapshot' || r === 'targets'), JSON.stringify(reqs));
      assert.deepEqual(c.trustedRoles(), [['root', 2]]);
      assert.deepEqual(c.metadataBytes('root'), sim.published('root', 2));
    });
  });
});

// ---------------------------------------------------------------------------

describe('rejections', { skip: SKIP }, () => {
  test('timestamp signed by an unknown key', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      const good = c.metadataBytes('timestamp');
      sim.timestamp.signed.version = 2;
      sim.publishTimestamp({ signers: [generateSigner()] });
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.metadataBytes('timestamp'), good);
    });
  });

  test('snapshot with a corrupted signature', async (t) => {
    const sim = standardSim();
    const md = Metadata.fromJSON('snapshot', JSON.parse(sim.published('snapshot', 1)));
    const sig = Object.values(md.signatures)[0];
    sig.sig = (sig.sig[0] === '0' ? '1' : '0') + sig.sig.slice(1);
    sim.store.get('snapshot').set(1, serialize(md));
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null], ['snapshot', 1]]);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['timestamp', 1]],
        'accepted timestamp stays, rejected snapshot is not stored');
    });
  });

  test('targets signed by the snapshot key', async (t) => {
    const sim = standardSim();
    sim.publishTargets('targets', { signers: sim.signers.get('snapshot') });
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 1], ['timestamp', 1]]);
    });
  });

  test('duplicate signature entries for one keyid are rejected', async (t) => {
    const sim = standardSim();
    const md = JSON.parse(sim.timestampBytes);
    md.signatures = [md.signatures[0], md.signatures[0]];
    sim.timestampBytes = Buffer.from(JSON.stringify(md));
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
    });
  });

  test('threshold 2 is not met by one key signing twice', async (t) => {
    const sim = standardSim();
    const extra = generateSigner();
    sim.root.signed.addKey(extra.key, 'timestamp');
    sim.root.signed.roles.timestamp.threshold = 2;
    sim.publishRoot();
    sim.publishTimestamp(); // one valid signature, threshold 2
    const once = sim.timestampBytes;
    const md = JSON.parse(once);
    md.signatures = [md.signatures[0], md.signatures[0]];
    await withClient(t, sim, async (c) => {
      await c.init();
      sim.timestampBytes = once;
      expectExit(await c.refresh(), 1, 'one signature of two');
      sim.timestampBytes = Buffer.from(JSON.stringify(md));
      expectExit(await c.refresh(), 1, 'same signature twice');
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
    });
  });

  test('threshold 2 met by two distinct keys', async (t) => {
    const sim = standardSim();
    const extra = generateSigner('ed25519');
    sim.root.signed.addKey(extra.key, 'timestamp');
    sim.root.signed.roles.timestamp.threshold = 2;
    sim.signers.set('timestamp', [...sim.signers.get('timestamp'), extra]);
    sim.publishRoot();
    sim.publishTimestamp();
    // an extra garbage signature from an unrelated key must be ignored
    const md = JSON.parse(sim.timestampBytes);
    md.signatures.push({ keyid: generateSigner().keyID, sig: '' });
    sim.timestampBytes = Buffer.from(JSON.stringify(md));
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      assert.deepEqual(c.metadataBytes('timestamp'), sim.timestampBytes);
    });
  });

  test('snapshot served as timestamp.json (wrong _type)', async (t) => {
    const sim = standardSim();
    const snap = new Metadata(sim.snapshot.signed);
    signMetadata(snap, sim.signers.get('timestamp'));
    sim.timestampBytes = serialize(snap);
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
    });
  });

  test('timestamp rollback', async (t) => {
    const sim = standardSim();
    const v1 = sim.timestampBytes;
    sim.updateTimestamp();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      const v2 = c.metadataBytes('timestamp');
      assert.equal(JSON.parse(v2).signed.version, 2);
      sim.timestampBytes = v1;
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.metadataBytes('timestamp'), v2);
    });
  });

  test('snapshot version rollback in a new timestamp', async (t) => {
    const sim = standardSim();
    sim.updateSnapshot(); // snapshot 2, timestamp 2
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.timestamp.signed.version = 3;
      sim.timestamp.signed.snapshotMeta = new MetaFile({ version: 1 });
      sim.publishTimestamp();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 2], ['targets', 1], ['timestamp', 2]]);
    });
  });

  test('targets version rollback in a new snapshot', async (t) => {
    const sim = standardSim();
    sim.updateTargets();
    sim.updateSnapshot(); // targets 2, snapshot 2
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.snapshot.signed.version = 3;
      sim.snapshot.signed.meta = { 'targets.json': new MetaFile({ version: 1 }) };
      sim.publishSnapshot();
      sim.updateTimestamp();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 2], ['targets', 2], ['timestamp', 3]]);
    });
  });

  test('snapshot whose length/hash does not match the timestamp meta', async (t) => {
    const sim = standardSim();
    const good = sim.published('snapshot', 1);
    sim.timestamp.signed.snapshotMeta = new MetaFile({ version: 1, length: good.length, hashes: { sha256: crypto.createHash('sha256').update(good).digest('hex') } });
    sim.publishTimestamp();
    // same signed content, different bytes
    sim.store.get('snapshot').set(1, Buffer.concat([good, Buffer.from('\n')]));
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['timestamp', 1]]);
    });
  });

  test('expired timestamp in the repository', async (t) => {
    const sim = standardSim();
    sim.timestamp.signed.expires = isoExpiry(-1);
    sim.publishTimestamp();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null]]);
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
    });
  });

  test('expired timestamp (client clock moved with faketime)', async (t) => {
    if (!faketimeBinary()) {
      t.skip('faketime is not installed (apt-get install faketime) - clock-based expiry not tested');
      return;
    }
    const sim = standardSim();
    sim.timestamp.signed.expires = isoExpiry(7);
    sim.publishTimestamp();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh({ faketime: faketimeStamp(30) }), 1, 'refresh 30 days later');
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null]]);
      assert.deepEqual(c.trustedRoles(), [['root', 1]]);
      expectExit(await c.refresh({ faketime: faketimeStamp(1) }), 0, 'refresh 1 day later');
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 1], ['targets', 1], ['timestamp', 1]]);
      // the locally stored timestamp expires; a fresh one replaces it
      sim.timestamp.signed.expires = isoExpiry(60);
      sim.updateTimestamp();
      expectExit(await c.refresh({ faketime: faketimeStamp(30) }), 0, 'expired local timestamp is replaced');
      assert.deepEqual(c.trustedRoles().find((r) => r[0] === 'timestamp'), ['timestamp', 2]);
    });
  });

  test('artifact with a wrong hash: previous good copy is kept', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('file.txt'), 0);
      const st = c.artifactStats();
      // new version of the artifact; the server answers with other bytes of the same length
      const v2 = 'top-level artifact v2\n';
      const tf = sim.addTarget('targets', 'file.txt', v2);
      sim.updateTargets();
      sim.updateSnapshot();
      sim.serveArtifact('file.txt', 'X'.repeat(v2.length), tf.hashes);
      expectExit(await c.download('file.txt'), 1);
      assert.deepEqual(c.artifacts(), ['top-level artifact\n']);
      assert.deepEqual(c.artifactStats(), st);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 2], ['targets', 2], ['timestamp', 2]]);
    });
  });

  test('artifact with a wrong hash on first download: nothing stored', async (t) => {
    const sim = standardSim();
    const tf = sim.targets.signed.targets['file.txt'];
    sim.serveArtifact('file.txt', 'X'.repeat(tf.length), tf.hashes);
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('file.txt'), 1);
      assert.deepEqual(c.artifacts(), []);
    });
  });

  test('artifact longer than its length', async (t) => {
    const sim = standardSim();
    const tf = sim.targets.signed.targets['file.txt'];
    sim.serveArtifact('file.txt', 'top-level artifact\n and more', tf.hashes);
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('file.txt'), 1);
      assert.deepEqual(c.artifacts(), []);
    });
  });

  test('artifact whose only hash algorithm is unknown', async (t) => {
    const sim = standardSim();
    sim.targets.signed.addTarget(new TargetFile({ length: 3, path: 'odd.bin', hashes: { 'x-unknown-hash': 'abcdef' } }));
    sim.artifacts.set('abcdef.odd.bin', Buffer.from('odd'));
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('odd.bin'), 1);
      assert.deepEqual(c.artifacts(), []);
    });
  });

  test('unknown target: exit 1, top-level metadata still updated', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.updateTargets();
      sim.updateSnapshot();
      sim.takeRequests();
      expectExit(await c.download('does/not/exist.txt'), 1);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['timestamp', null], ['snapshot', 2], ['targets', 2]]);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 2], ['targets', 2], ['timestamp', 2]]);
      assert.deepEqual(sim.takeArtifactRequests(), []);
    });
  });

  test('download stops at the first failing target', async (t) => {
    const sim = standardSim();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download(['file.txt', 'missing.txt', 'path/to/a/target_file.txt']), 1);
      assert.deepEqual(c.artifacts(), ['top-level artifact\n']);
    });
  });

  const badRoots = {
    'no version field': (root) => {
      const j = JSON.parse(root);
      delete j.signed.version;
      return Buffer.from(JSON.stringify(j));
    },
    'bad signature': (root) => {
      const j = JSON.parse(root);
      const s = j.signatures[0].sig;
      j.signatures[0].sig = (s[0] === 'a' ? 'b' : 'a') + s.slice(1);
      return Buffer.from(JSON.stringify(j));
    },
    'not JSON': () => Buffer.from('{"signed": '),
  };
  for (const [what, mangle] of Object.entries(badRoots)) {
    test(`malformed initial root (${what}): refresh exits 1 with no request`, async (t) => {
      const sim = standardSim();
      const initialRoot = mangle(sim.published('root', 1));
      await withClient(t, sim, async (c) => {
        await c.init(); // exit code deliberately ignored (validation at init is optional)
        expectExit(await c.refresh(), 1);
        assert.deepEqual(sim.takeRequests(), []);
        assert.deepEqual(sim.takeArtifactRequests(), []);
        expectExit(await c.download('file.txt'), 1, 'download');
        assert.deepEqual(sim.takeRequests(), []);
        assert.deepEqual(c.artifacts(), []);
      }, { initialRoot });
    });
  }
});

// ---------------------------------------------------------------------------

describe('metadata format and search corner cases', { skip: SKIP }, () => {
  // Strings that canonical JSON must reproduce exactly: only '"' and '\'
  // are escaped, everything else (UTF-8, control characters) is raw.
  const ODD = 'quote " backslash \\ slash / ü € 𝄞 tab\t newline\n \u0001 \u001f del\u007f <>&\'';
  const CUSTOM = {
    'x-string': ODD,
    'x-ints': [0, -1, 1, 2 ** 40, -(2 ** 31)],
    'x-nested': { b: [true, false, null, {}, []], a: { 'é': 'e-acute', Z: 'upper', z: 'lower' } },
  };

  test('unknown fields everywhere are covered by the signatures', async (t) => {
    const sim = new RepositorySimulator();
    // root: top-level field, custom field in a key (key id computed with it), in a role entry
    const ts = generateSigner('ed25519', { extraKeyFields: { 'x-key-field': ODD } });
    const r = sim.root.signed;
    for (const k of r.roles.timestamp.keyIDs) delete r.keys[k];
    r.roles.timestamp.keyIDs = [];
    r.addKey(ts.key, 'timestamp');
    sim.signers.set('timestamp', [ts]);
    r.unrecognizedFields = { ...CUSTOM };
    r.roles.snapshot.unrecognizedFields = { 'x-role-field': ODD };
    // targets: custom target data, delegations and delegated role entries with extra fields
    const tf = sim.addTarget('targets', 'custom.bin', 'custom');
    tf.unrecognizedFields = { custom: { ...CUSTOM } };
    sim.addDelegation('targets', 'role1', { paths: ['r/*'] });
    sim.targets.signed.delegations.unrecognizedFields = { 'x-delegations': ODD };
    sim.targets.signed.delegations.roles.role1.unrecognizedFields = { 'x-delegated-role': CUSTOM['x-nested'] };
    sim.addTarget('role1', 'r/in-role1', 'delegated');
    sim.targetsMd('role1').signed.unrecognizedFields = { 'x-top': ODD };
    sim.snapshot.signed.unrecognizedFields = { 'x-snapshot': CUSTOM['x-ints'] };
    sim.timestamp.signed.unrecognizedFields = { 'x-timestamp': ODD };
    sim.root.unrecognizedFields = { 'x-unsigned-envelope-field': 'ignored' };
    sim.publishRoot();
    sim.republishAll();
    sim.timestamp.signed.snapshotMeta.unrecognizedFields = { 'x-meta': ODD };
    sim.publishTimestamp();
    await withClient(t, sim, async (c) => {
      expectExit(await c.init(), 0, 'init');
      expectExit(await c.download(['custom.bin', 'r/in-role1']), 0, 'download');
      assert.deepEqual(c.artifacts().sort(), ['custom', 'delegated']);
      for (const role of ['root', 'timestamp', 'snapshot', 'targets', 'role1']) {
        const want = role === 'timestamp' ? sim.timestampBytes : sim.published(role, 1);
        assert.deepEqual(c.metadataBytes(role), want, `${role}.json`);
      }
    });
  });

  test('role listing one keyid twice does not reach threshold 2', async (t) => {
    const sim = standardSim();
    const signed = JSON.parse(sim.published('root', 1)).signed;
    const tsKey = signed.roles.timestamp.keyids[0];
    signed.roles.timestamp = { keyids: [tsKey, tsKey], threshold: 2 };
    const bad = signRawJson(signed, sim.signers.get('root'));
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.ok(!c.metadataFiles().includes('timestamp.json'), 'timestamp accepted with one key for threshold 2');
    }, { initialRoot: bad });
  });

  test('expired snapshot in the repository', async (t) => {
    const sim = standardSim();
    sim.snapshot.signed.expires = isoExpiry(-1);
    sim.publishSnapshot();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['timestamp', 1]]);
    });
  });

  test('expired targets in the repository', async (t) => {
    const sim = standardSim();
    sim.targets.signed.expires = isoExpiry(-1);
    sim.publishTargets();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 1], ['timestamp', 1]]);
    });
  });

  test('snapshot rolled back after snapshot key rotation is accepted (fast-forward recovery)', async (t) => {
    const sim = standardSim();
    sim.updateSnapshot();
    sim.updateSnapshot(); // snapshot 3, timestamp 3
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 0);
      sim.bumpRoot({ rotate: ['snapshot', 'timestamp'] });
      sim.snapshot.signed.version = 1;
      sim.publishSnapshot();
      sim.timestamp.signed.version = 1;
      sim.timestamp.signed.snapshotMeta = new MetaFile({ version: 1 });
      sim.publishTimestamp();
      expectExit(await c.refresh(), 0);
      assert.deepEqual(c.trustedRoles(), [['root', 2], ['snapshot', 1], ['targets', 1], ['timestamp', 1]]);
    });
  });

  test('root rotation to a 2-of-3 root key threshold', async (t) => {
    const sim = standardSim();
    const old = sim.rotateKeys('root');
    const more = [generateSigner('ed25519'), generateSigner('rsassa-pss-sha256')];
    for (const s of more) sim.root.signed.addKey(s.key, 'root');
    sim.signers.set('root', [...sim.signers.get('root'), ...more]);
    sim.root.signed.roles.root.threshold = 2;
    sim.root.signed.version = 2;
    sim.publishRoot({ extraSigners: old });
    // v3 signed by only 2 of the 3 keys: still valid
    sim.root.signed.version = 3;
    sim.publishRoot({ signers: sim.signers.get('root').slice(1) });
    // v4 signed by only 1 of the 3 keys: invalid
    sim.root.signed.version = 4;
    sim.publishRoot({ signers: sim.signers.get('root').slice(2) });
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.refresh(), 1);
      assert.deepEqual(sim.takeRequests(), [['root', 2], ['root', 3], ['root', 4]]);
      assert.deepEqual(c.trustedRoles(), [['root', 3]]);
      assert.deepEqual(c.metadataBytes('root'), sim.published('root', 3));
    });
  });

  test('snapshot lists length and hashes of targets.json', async (t) => {
    const sim = standardSim();
    const good = sim.published('targets', 1);
    sim.snapshot.signed.meta['targets.json'] = new MetaFile({
      version: 1, length: good.length, hashes: { sha256: crypto.createHash('sha256').update(good).digest('hex') },
    });
    sim.publishSnapshot();
    const clean = Buffer.from(good);
    await withClient(t, sim, async (c) => {
      await c.init();
      sim.store.get('targets').set(1, Buffer.concat([clean, Buffer.from(' ')]));
      expectExit(await c.refresh(), 1, 'targets bytes differ from the snapshot hash');
      assert.deepEqual(c.trustedRoles(), [['root', 1], ['snapshot', 1], ['timestamp', 1]]);
      sim.store.get('targets').set(1, clean);
      expectExit(await c.refresh(), 0, 'matching targets bytes');
      assert.deepEqual(c.metadataBytes('targets'), clean);
    });
  });

  test('delegation cycle terminates with exit 1', async (t) => {
    const sim = new RepositorySimulator();
    sim.addDelegation('targets', 'A', { paths: ['*'] });
    sim.addDelegation('A', 'B', { paths: ['*'] });
    // B delegates back to A (with A's key)
    const aKey = sim.signers.get('A')[0];
    sim.targetsMd('B').signed.delegations = new Delegations({
      keys: { [aKey.keyID]: aKey.key },
      roles: { A: new DelegatedRole({ name: 'A', keyIDs: [aKey.keyID], threshold: 1, terminating: false, paths: ['*'] }) },
    });
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('nowhere.txt'), 1);
      const reqs = sim.takeRequests();
      assert.deepEqual(reqs, [...FIRST_REFRESH, ['A', 1], ['B', 1]]);
    });
  });

  test('top-level target wins over a delegated one with the same path', async (t) => {
    const sim = new RepositorySimulator();
    sim.addDelegation('targets', 'A', { paths: ['*'] });
    sim.addTarget('A', 'same.txt', 'from A');
    sim.addTarget('targets', 'same.txt', 'from targets');
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('same.txt'), 0);
      assert.deepEqual(c.artifacts(), ['from targets']);
      assert.deepEqual(sim.takeRequests(), FIRST_REFRESH);
    });
  });

  test('artifact missing on the server (404)', async (t) => {
    const sim = standardSim();
    for (const k of [...sim.artifacts.keys()]) if (k.endsWith('file.txt')) sim.artifacts.delete(k);
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download('file.txt'), 1);
      assert.equal(sim.takeArtifactRequests().length, 1, 'artifact requests must not be retried');
      assert.deepEqual(c.artifacts(), []);
    });
  });

  test('many targets in one download, some cached', async (t) => {
    const sim = new RepositorySimulator({ scheme: 'ed25519' });
    const names = [];
    for (let i = 0; i < 20; i++) {
      const n = `bulk/${String(i).padStart(2, '0')}/artifact.bin`;
      names.push(n);
      sim.addTarget('targets', n, crypto.randomBytes(100 + i * 997));
    }
    sim.republishAll();
    await withClient(t, sim, async (c) => {
      await c.init();
      expectExit(await c.download(names.slice(0, 5)), 0);
      assert.equal(sim.takeArtifactRequests().length, 5);
      expectExit(await c.download(names), 0);
      assert.equal(sim.takeArtifactRequests().length, 15);
      assert.equal(c.artifacts().length, 20);
    });
  });
});

// ---------------------------------------------------------------------------
// The simulator itself is checked against tuf-js, so that a failure above
// points at the C client and not at the test repository.

describe('simulator self-check with tuf-js', () => {
  for (const scheme of SCHEMES) {
    test(`tuf-js accepts the simulator [${scheme}]`, async (t) => {
      const sim = standardSim({ scheme });
      sim.addDelegation('targets', '../delegatedrole', { paths: ['d/*'] });
      sim.addTarget('../delegatedrole', 'd/x.bin', 'delegated bytes');
      sim.updateTargets();
      sim.publishTargets('../delegatedrole');
      sim.updateSnapshot();
      sim.bumpRoot({ rotate: ['root', 'timestamp'] });
      sim.publishTimestamp();
      const { metadataUrl, targetsUrl } = server.register(t.name, sim);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptane-interop-tufjs-'));
      try {
        fs.mkdirSync(path.join(dir, 'm'));
        fs.mkdirSync(path.join(dir, 't'));
        fs.writeFileSync(path.join(dir, 'm', 'root.json'), sim.published('root', 1));
        const u = new Updater({
          metadataDir: path.join(dir, 'm'), metadataBaseUrl: metadataUrl,
          targetDir: path.join(dir, 't'), targetBaseUrl: targetsUrl,
          config: { fetchRetry: 0, fetchTimeout: 10000 },
        });
        await u.refresh();
        for (const [name, want] of [['d/x.bin', 'delegated bytes'], ['path/to/a/target_file.txt', 'nested artifact\n']]) {
          const info = await u.getTargetInfo(name);
          assert.ok(info, name);
          assert.equal(fs.readFileSync(await u.downloadTarget(info), 'utf8'), want);
        }
        assert.deepEqual(sim.takeRequests(),
          [['root', 2], ['root', 3], ['timestamp', null], ['snapshot', 2], ['targets', 2], ['../delegatedrole', 1]]);
      } finally {
        server.unregister(t.name);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
