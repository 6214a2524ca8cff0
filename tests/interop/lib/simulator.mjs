// Repository simulator for the interop tests.
//
// Metadata is modelled with @tufjs/models and signed with node:crypto over the
// canonical JSON (@tufjs/canonical-json, the helper @tufjs/models itself uses)
// of the "signed" object. Every published version is kept as the exact bytes
// that are served, so tests can compare them with what a client stored.
//
// One TestServer (node:http, 127.0.0.1, random port) serves any number of
// repositories, each below /<test-id>/metadata/ and /<test-id>/targets/.
// Every metadata request is recorded as [role, version|null] in request order,
// 404s included; artifact requests are recorded as their raw path.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { canonicalize } from '@tufjs/canonical-json';
import {
  Key,
  Metadata,
  MetaFile,
  Root,
  Signature,
  Snapshot,
  TargetFile,
  Targets,
  Timestamp,
} from '@tufjs/models';
import { DelegatedRole } from '@tufjs/models/dist/role.js';
import { Delegations } from '@tufjs/models/dist/delegations.js';

export { Metadata, MetaFile, TargetFile, Key, Signature, DelegatedRole, Delegations };

export const SCHEMES = ['ed25519', 'ecdsa-sha2-nistp256', 'rsassa-pss-sha256'];
export const TOP_LEVEL = ['root', 'timestamp', 'snapshot', 'targets'];

// ---------------------------------------------------------------------------
// helpers

/** Percent-encode with no safe characters except RFC 3986 unreserved ones
 *  (what Python's urllib.parse.quote(s, safe="") does). */
export function quote(s) {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

export function sha256hex(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

export function sha512hex(buf) {
  return crypto.createHash('sha512').update(buf).digest('hex');
}

/** "YYYY-MM-DDTHH:MM:SSZ", `days` from now (negative = in the past). */
export function isoExpiry(days, from = Date.now()) {
  const d = new Date(from + days * 86400 * 1000);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Key id the way securesystemslib/python-tuf derive it: sha256 over the
 *  canonical JSON of the public key object (including unknown fields). */
export function keyIdOf(key) {
  return sha256hex(Buffer.from(canonicalize(key.toJSON())));
}

// ---------------------------------------------------------------------------
// keys and signing

/**
 * A signer holds a private KeyObject and the @tufjs/models Key for it.
 * scheme: 'ed25519' | 'ecdsa-sha2-nistp256' (alias 'ecdsa') |
 *         'rsassa-pss-sha256' (alias 'rsa')
 */
export function generateSigner(scheme = 'ecdsa-sha2-nistp256', { extraKeyFields = {} } = {}) {
  if (scheme === 'ecdsa') scheme = 'ecdsa-sha2-nistp256';
  if (scheme === 'rsa') scheme = 'rsassa-pss-sha256';
  let keyType;
  let pub;
  let privateKey;
  switch (scheme) {
    case 'ed25519': {
      const kp = crypto.generateKeyPairSync('ed25519');
      privateKey = kp.privateKey;
      // raw 32-byte key = the last 32 bytes of the SPKI DER
      pub = kp.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
      keyType = 'ed25519';
      break;
    }
    case 'ecdsa-sha2-nistp256': {
      const kp = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      privateKey = kp.privateKey;
      pub = kp.publicKey.export({ format: 'pem', type: 'spki' });
      keyType = 'ecdsa';
      break;
    }
    case 'rsassa-pss-sha256': {
      const kp = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      privateKey = kp.privateKey;
      pub = kp.publicKey.export({ format: 'pem', type: 'spki' });
      keyType = 'rsa';
      break;
    }
    default:
      throw new Error(`unsupported scheme ${scheme}`);
  }
  const fields = { keyType, scheme, keyVal: { public: pub }, unrecognizedFields: { ...extraKeyFields } };
  const keyID = keyIdOf(new Key({ keyID: '', ...fields }));
  const key = new Key({ keyID, ...fields });
  return { keyID, key, scheme, privateKey };
}

/** Raw signature bytes over `data` (a Buffer). */
export function signBytes(signer, data) {
  switch (signer.scheme) {
    case 'ed25519':
      return crypto.sign(null, data, signer.privateKey);
    case 'ecdsa-sha2-nistp256':
      // node produces a DER-encoded ECDSA signature by default
      return crypto.sign('sha256', data, signer.privateKey);
    case 'rsassa-pss-sha256':
      return crypto.sign('sha256', data, {
        key: signer.privateKey,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    default:
      throw new Error(`unsupported scheme ${signer.scheme}`);
  }
}

/** Canonical bytes that are signed for `md`. */
export function signedBytes(md) {
  return Buffer.from(canonicalize(md.signed.toJSON()));
}

/** Replace the signatures of `md` with ones from `signers`. */
export function signMetadata(md, signers) {
  md.signatures = {};
  for (const s of signers) {
    md.sign((bytes) => new Signature({ keyID: s.keyID, sig: signBytes(s, bytes).toString('hex') }));
  }
  return md;
}

/** Sign an arbitrary (already edited) JSON "signed" object; returns the
 *  served bytes. For structures @tufjs/models refuses to build. */
export function signRawJson(signed, signers, indent = 1) {
  const data = Buffer.from(canonicalize(signed));
  const signatures = signers.map((s) => ({ keyid: s.keyID, sig: signBytes(s, data).toString('hex') }));
  return Buffer.from(JSON.stringify({ signatures, signed }, null, indent || undefined));
}

/** Serialise as served. `indent` > 0 gives pretty-printed (non-canonical) bytes. */
export function serialize(md, indent = 0) {
  return Buffer.from(JSON.stringify(md.toJSON(), null, indent || undefined));
}

// ---------------------------------------------------------------------------
// repository simulator

export class RepositorySimulator {
  /**
   * @param {object} o
   * @param {string} o.scheme     key scheme of all keys made by default
   * @param {boolean} o.consistentSnapshot
   * @param {number} o.expiresDays  expiry of every role, in days from now
   * @param {number} o.indent     JSON indentation of served metadata (0: compact)
   */
  constructor({ scheme = 'ecdsa-sha2-nistp256', consistentSnapshot = true, expiresDays = 365, indent = 1 } = {}) {
    this.scheme = scheme;
    this.indent = indent;
    this.expiresDays = expiresDays;
    /** role name -> array of signers used to sign that role */
    this.signers = new Map();
    /** role -> Map(version -> Buffer) of every published version */
    this.store = new Map();
    /** latest published timestamp bytes */
    this.timestampBytes = null;
    /** served artifact path -> Buffer */
    this.artifacts = new Map();
    /** requests: [role, version|null] */
    this.requests = [];
    /** artifact requests: raw path below targets/ */
    this.artifactRequests = [];
    /** delegated targets metadata by role name */
    this.delegates = new Map();
    /** Map role name -> { delegator } */
    this.delegators = new Map();
    /** extra handler that may answer a request first: (kind, name) => Buffer|null */
    this.hook = null;

    const exp = isoExpiry(expiresDays);
    this.root = new Metadata(new Root({ version: 1, expires: exp, consistentSnapshot }));
    for (const role of TOP_LEVEL) {
      const s = generateSigner(scheme);
      this.root.signed.addKey(s.key, role);
      this.signers.set(role, [s]);
    }
    this.targets = new Metadata(new Targets({ version: 1, expires: exp }));
    this.snapshot = new Metadata(
      new Snapshot({ version: 1, expires: exp, meta: { 'targets.json': new MetaFile({ version: 1 }) } }),
    );
    this.timestamp = new Metadata(
      new Timestamp({ version: 1, expires: exp, snapshotMeta: new MetaFile({ version: 1 }) }),
    );
    this.publishRoot();
    this.publishTargets('targets');
    this.publishSnapshot();
    this.publishTimestamp();
  }

  get consistentSnapshot() {
    return this.root.signed.consistentSnapshot;
  }

  /** Bytes of the given published version (root/snapshot/targets/delegate). */
  published(role, version) {
    if (role === 'timestamp') return this.timestampBytes;
    return this.store.get(role)?.get(version) ?? null;
  }

  _put(role, version, bytes) {
    if (!this.store.has(role)) this.store.set(role, new Map());
    this.store.get(role).set(version, bytes);
    return bytes;
  }

  /** Metadata object of a targets role ('targets' or a delegated name). */
  targetsMd(role = 'targets') {
    return role === 'targets' ? this.targets : this.delegates.get(role);
  }

  // -- publication --------------------------------------------------------

  /** Sign root at its current version (with root signers + extra ones) and publish. */
  publishRoot({ extraSigners = [], signers = null } = {}) {
    signMetadata(this.root, signers ?? [...this.signers.get('root'), ...extraSigners]);
    return this._put('root', this.root.signed.version, serialize(this.root, this.indent));
  }

  publishTargets(role = 'targets', { signers = null } = {}) {
    const md = this.targetsMd(role);
    signMetadata(md, signers ?? this.signers.get(role));
    return this._put(role, md.signed.version, serialize(md, this.indent));
  }

  publishSnapshot({ signers = null } = {}) {
    signMetadata(this.snapshot, signers ?? this.signers.get('snapshot'));
    return this._put('snapshot', this.snapshot.signed.version, serialize(this.snapshot, this.indent));
  }

  publishTimestamp({ signers = null } = {}) {
    signMetadata(this.timestamp, signers ?? this.signers.get('timestamp'));
    this.timestampBytes = serialize(this.timestamp, this.indent);
    this._put('timestamp', this.timestamp.signed.version, this.timestampBytes);
    return this.timestampBytes;
  }

  /** Re-sign and re-publish every role at its current version (no bumps),
   *  with snapshot meta recomputed. Use only before a client has fetched. */
  republishAll() {
    for (const name of this.delegates.keys()) this.publishTargets(name);
    this.publishTargets('targets');
    this.snapshot.signed.meta = this._snapshotMeta();
    this.publishSnapshot();
    this.timestamp.signed.snapshotMeta = new MetaFile({ version: this.snapshot.signed.version });
    this.publishTimestamp();
  }

  _snapshotMeta() {
    const meta = { 'targets.json': new MetaFile({ version: this.targets.signed.version }) };
    for (const [name, md] of this.delegates) {
      if (this._unlisted?.has(name)) continue;
      meta[`${name}.json`] = new MetaFile({ version: md.signed.version });
    }
    return meta;
  }

  /** Bump a targets role's version and publish it. */
  updateTargets(role = 'targets') {
    this.targetsMd(role).signed.version += 1;
    return this.publishTargets(role);
  }

  /** Bump timestamp (pointing at the current snapshot version) and publish. */
  updateTimestamp() {
    this.timestamp.signed.version += 1;
    this.timestamp.signed.snapshotMeta = new MetaFile({ version: this.snapshot.signed.version });
    return this.publishTimestamp();
  }

  /** Refresh snapshot meta from the current targets versions, bump, publish,
   *  then update the timestamp. */
  updateSnapshot() {
    this.snapshot.signed.meta = this._snapshotMeta();
    this.snapshot.signed.version += 1;
    this.publishSnapshot();
    return this.updateTimestamp();
  }

  /** Replace a top-level role's keys with a fresh one; return the old signers. */
  rotateKeys(role, scheme = this.scheme) {
    const old = this.signers.get(role);
    const r = this.root.signed;
    for (const s of old) {
      r.roles[role].keyIDs = r.roles[role].keyIDs.filter((k) => k !== s.keyID);
      const stillUsed = Object.values(r.roles).some((x) => x.keyIDs.includes(s.keyID));
      if (!stillUsed) delete r.keys[s.keyID];
    }
    const n = generateSigner(scheme);
    r.addKey(n.key, role);
    this.signers.set(role, [n]);
    return old;
  }

  /** Add a new root version; if rotateRoot, its root key is replaced and the
   *  new root is signed by both old and new root keys. */
  bumpRoot({ rotate = [] } = {}) {
    let extra = [];
    for (const role of rotate) {
      const old = this.rotateKeys(role);
      if (role === 'root') extra = old;
    }
    this.root.signed.version += 1;
    return this.publishRoot({ extraSigners: extra });
  }

  // -- targets and delegations ---------------------------------------------

  /** Add an artifact to a targets role (not published until publishTargets /
   *  updateTargets). Returns the TargetFile. */
  addTarget(role, targetPath, data, { hashAlgs = ['sha256'] } = {}) {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    const hashes = {};
    for (const alg of hashAlgs) hashes[alg] = crypto.createHash(alg).update(buf).digest('hex');
    const tf = new TargetFile({ length: buf.length, path: targetPath, hashes });
    this.targetsMd(role).signed.addTarget(tf);
    this.serveArtifact(targetPath, buf, hashes);
    return tf;
  }

  /** Make `data` available for `targetPath` under each hash-prefixed name
   *  (and the plain path). Does not touch metadata. */
  serveArtifact(targetPath, data, hashes) {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    hashes ??= { sha256: sha256hex(buf) };
    const dir = path.posix.dirname(targetPath);
    const base = path.posix.basename(targetPath);
    for (const h of Object.values(hashes)) {
      this.artifacts.set(dir === '.' ? `${h}.${base}` : `${dir}/${h}.${base}`, buf);
    }
    this.artifacts.set(`plain:${targetPath}`, buf);
  }

  /**
   * Delegate from `delegator` to a new role `name` (version 1, listed in
   * snapshot on the next updateSnapshot unless listInSnapshot is false).
   */
  addDelegation(delegator, name, { paths = ['*'], terminating = false, threshold = 1, scheme = this.scheme, listInSnapshot = true } = {}) {
    const parent = this.targetsMd(delegator);
    const signer = generateSigner(scheme);
    if (!parent.signed.delegations) {
      parent.signed.delegations = new Delegations({ keys: {}, roles: {} });
    }
    const del = parent.signed.delegations;
    del.keys[signer.keyID] = signer.key;
    del.roles[name] = new DelegatedRole({ name, keyIDs: [signer.keyID], threshold, terminating, paths });
    this.signers.set(name, [signer]);
    const md = new Metadata(new Targets({ version: 1, expires: isoExpiry(this.expiresDays) }));
    this.delegates.set(name, md);
    this.delegators.set(name, delegator);
    if (!listInSnapshot) {
      this._unlisted ??= new Set();
      this._unlisted.add(name);
    }
    return md;
  }

  // -- serving ---------------------------------------------------------------

  /** Resolve a raw metadata file name (as in the URL) to bytes, recording it. */
  fetchMetadata(name) {
    let role;
    let version = null;
    const m = /^([0-9]+)\.(.+)\.json$/.exec(name);
    let encRole;
    if (m) {
      version = Number(m[1]);
      encRole = m[2];
    } else if (name.endsWith('.json')) {
      encRole = name.slice(0, -5);
    } else {
      encRole = name;
    }
    try {
      role = decodeURIComponent(encRole);
    } catch {
      role = encRole;
    }
    this.requests.push([role, version]);

    if (this.hook) {
      const r = this.hook('metadata', name, role, version);
      if (r !== undefined) return r;
    }
    // The role name must be encoded exactly as quote(role).
    if (encRole !== quote(role)) return null;
    if (role === 'root') {
      return version === null ? null : this.published('root', version);
    }
    if (role === 'timestamp') {
      return version === null ? this.timestampBytes : null;
    }
    if (this.consistentSnapshot) {
      if (version === null) return null;
      return this.published(role, version);
    }
    if (version !== null) return null;
    const versions = this.store.get(role);
    if (!versions || versions.size === 0) return null;
    return versions.get(Math.max(...versions.keys()));
  }

  fetchArtifact(rawPath) {
    this.artifactRequests.push(rawPath);
    if (this.hook) {
      const r = this.hook('artifact', rawPath);
      if (r !== undefined) return r;
    }
    if (this.consistentSnapshot) return this.artifacts.get(rawPath) ?? null;
    return this.artifacts.get(`plain:${rawPath}`) ?? null;
  }

  /** Request log filtered to metadata, as [role, version] pairs. */
  takeRequests() {
    const r = this.requests;
    this.requests = [];
    return r;
  }

  takeArtifactRequests() {
    const r = this.artifactRequests;
    this.artifactRequests = [];
    return r;
  }
}

// ---------------------------------------------------------------------------
// a static directory repository (e.g. the output of up-test-repo)

export class StaticRepository {
  constructor(dir) {
    this.dir = dir;
    this.requests = [];
    this.artifactRequests = [];
  }

  fetchMetadata(name) {
    const m = /^([0-9]+)\.(.+)\.json$/.exec(name);
    let role = m ? m[2] : name.replace(/\.json$/, '');
    try {
      role = decodeURIComponent(role);
    } catch {
      /* keep raw */
    }
    this.requests.push([role, m ? Number(m[1]) : null]);
    return readInside(path.join(this.dir, 'metadata'), name);
  }

  fetchArtifact(rawPath) {
    this.artifactRequests.push(rawPath);
    return readInside(path.join(this.dir, 'targets'), rawPath);
  }

  takeRequests() {
    const r = this.requests;
    this.requests = [];
    return r;
  }
}

function readInside(base, rel) {
  const p = path.resolve(base, rel);
  if (!p.startsWith(path.resolve(base) + path.sep)) return null;
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return null;
    return fs.readFileSync(p);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// HTTP server

/**
 * Serves registered repositories on 127.0.0.1 (random port) under
 * /<test-id>/metadata/<name> and /<test-id>/targets/<path>. The request path
 * is used raw: nothing is percent-decoded, so a client must use the base URL
 * byte for byte. Anything else is 404.
 */
export class TestServer {
  constructor() {
    this.repos = new Map();
    this.server = http.createServer((req, res) => this._handle(req, res));
    this.server.keepAliveTimeout = 1000;
    this.server.headersTimeout = 10000;
    this.server.requestTimeout = 10000;
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    return this;
  }

  async close() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Register `repo` (RepositorySimulator or StaticRepository); returns URLs. */
  register(testId, repo) {
    const id = quote(testId);
    this.repos.set(id, repo);
    return {
      id,
      metadataUrl: `http://127.0.0.1:${this.port}/${id}/metadata/`,
      targetsUrl: `http://127.0.0.1:${this.port}/${id}/targets/`,
    };
  }

  unregister(testId) {
    this.repos.delete(quote(testId));
  }

  _handle(req, res) {
    let body = null;
    try {
      if (req.method === 'GET') body = this._lookup(req.url);
    } catch (e) {
      body = null;
      console.error('simulator error', e);
    }
    if (body) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, Connection: 'close' });
      res.end(body);
    } else {
      const msg = Buffer.from('<html><body>404 Not Found</body></html>\n');
      res.writeHead(404, { 'Content-Type': 'text/html', 'Content-Length': msg.length, Connection: 'close' });
      res.end(msg);
    }
  }

  _lookup(rawUrl) {
    const m = /^\/([^/]+)\/(metadata|targets)\/(.+)$/.exec(rawUrl);
    if (!m) return null;
    const repo = this.repos.get(m[1]);
    if (!repo) return null;
    if (m[2] === 'metadata') {
      if (m[3].includes('/')) {
        repo.requests?.push([m[3], null]);
        return null;
      }
      return repo.fetchMetadata(m[3]);
    }
    return repo.fetchArtifact(m[3]);
  }
}
