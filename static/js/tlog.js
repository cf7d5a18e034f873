/* Checks a voter's receipt in the browser: a c2sp.org/tlog-proof of a ballot's leaf, against
 * the poll's c2sp.org/tlog-policy (its log key, its witnesses and their quorum).
 *
 * A port of the Python reference in rooms/tlog/ (proof.py, merkle.py, notes.py,
 * checkpoint.py, cosignature.py, policy.py), which is tested against the C2SP and
 * transparency-dev vectors: each parser here refuses what its Python twin refuses. No
 * dependencies and no build step: a classic <script> that defines `window.Tlog`, using
 * WebCrypto only (SHA-256 digests and Ed25519 verification).
 *
 * Refusals are thrown as `Tlog.TlogError`, whose `code` is stable (the page branches on it)
 * and whose `message` is a sentence for people:
 *
 *   malformed      not a tlog-proof, signed note, checkpoint or ballot leaf
 *   bad_policy     not a tlog-policy file (or a key in it is not usable)
 *   leaf_mismatch  the receipt's ballot is not the one whose code the voter noted
 *   bad_signature  a key the policy knows signed, and its signature does not verify
 *   unknown_log    the poll's log key (named as the checkpoint's origin) did not sign
 *   quorum         the witnesses that cosigned do not make the policy's quorum
 *   not_included   the inclusion proof does not lead from the leaf to the signed root
 *   inconsistent   the receipt's tree is not a prefix of the final tree
 *   unsupported    this browser has no Ed25519 in WebCrypto (verifyReceipt only)
 *
 * Tree sizes and indexes are uint64: the parsers return them as BigInt; the verifiers take
 * a Number, a BigInt or a decimal string. Hashes are Uint8Arrays or base64 strings.
 */
"use strict";

(function (root) {
  const HEADER = "c2sp.org/tlog-proof@v1";
  const HASH_SIZE = 32;
  const MAX_PROOF_HASHES = 64;
  const MAX_SIGNATURES = 100;
  const MAX_U64 = (1n << 64n) - 1n;
  const MAX_TIMESTAMP = (1n << 63n) - 1n;
  const SIGNATURE_ED25519 = 0x01;
  const SIGNATURE_COSIGNATURE_V1 = 0x04;
  const DASH = "\u2014 "; // em dash and space open every signature line
  const NONE = "none";
  const CODE_DIGITS = 12;

  const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
  const KEY_ID = /^[0-9a-f]{8}$/;
  const CONTROL = /[\x00-\x09\x0b-\x1f]/; // control characters other than newline
  // What Python's str.isspace() calls a space, and the other controls: not in key names.
  const SPACE_OR_CONTROL =
    /[\x00-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
  const POLICY_OCTET = /[^\x09\x0a\x20-\x7e\x80-\xff]/; // on a string of octets
  const POLICY_SPACES = /[ \t]+/;

  const utf8 = new TextEncoder();
  const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });

  class TlogError extends Error {
    constructor(code, message) {
      super(message);
      this.name = "TlogError";
      this.code = code;
    }
  }

  const fail = (code, message) => {
    throw new TlogError(code, message);
  };

  // --- bytes, text, base64, decimal ---------------------------------------------------

  function concat(parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const hex8 = (n) => n.toString(16).padStart(8, "0");
  const octets = (bytes) => Array.from(bytes, (b) => String.fromCharCode(b)).join("");
  const fromOctets = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));
  const uint32 = (b) => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;

  /** Whether a string is Unicode text: no lone surrogate, so UTF-8 can carry it. */
  function isWellFormed(text) {
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit < 0xd800 || unit > 0xdfff) continue;
      const next = text.charCodeAt(i + 1);
      if (unit > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
    return true;
  }

  /** A string as UTF-8, or bytes as they are; `code` refuses anything else. */
  function toBytes(value, code) {
    if (typeof value === "string") {
      if (!isWellFormed(value)) fail(code, "the text is not Unicode (a lone surrogate)");
      return utf8.encode(value);
    }
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) {
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    return fail(code, "expected text or bytes");
  }

  /** Bytes as strict UTF-8 text (a BOM is kept, as Python keeps it), or a string as is. */
  function toText(value, code, what) {
    const bytes = toBytes(value, code);
    if (typeof value === "string") return value;
    try {
      return strictUtf8.decode(bytes);
    } catch (_) {
      return fail(code, `${what} is UTF-8`);
    }
  }

  function encodeBase64(bytes) {
    return btoa(octets(bytes));
  }

  /** The bytes of canonical padded base64 (RFC 4648 section 4), or null. */
  function decodeBase64(text) {
    if (typeof text !== "string" || !BASE64.test(text)) return null;
    const bytes = fromOctets(atob(text));
    return encodeBase64(bytes) === text ? bytes : null; // stray bits in the last character
  }

  /** ASCII decimal without leading zeroes, up to `maximum`, as a BigInt; or null. */
  function decodeDecimal(text, maximum = MAX_U64) {
    if (!DECIMAL.test(text) || text.length > String(maximum).length) return null;
    const value = BigInt(text);
    return value <= maximum ? value : null;
  }

  /** A Number when exact, else the BigInt: for showing sizes and indexes. */
  const toNumber = (big) => (big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big);

  function toInteger(value, what) {
    if (typeof value === "bigint") return value;
    if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
    if (typeof value === "string" && /^-?(?:0|[1-9][0-9]*)$/.test(value)) return BigInt(value);
    throw new TypeError(`${what} is an integer: a safe Number, a BigInt or a decimal string`);
  }

  /** A hash argument: bytes, or base64 (anything else becomes an empty, refused hash). */
  function toHash(value) {
    if (typeof value === "string") return decodeBase64(value) || new Uint8Array(0);
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    return new Uint8Array(0);
  }

  const toHashes = (list) => Array.from(list || [], toHash);

  function checkHashes(code, hashes) {
    for (const h of hashes) {
      if (h.length !== HASH_SIZE) fail(code, `a hash has ${HASH_SIZE} bytes, not ${h.length}`);
    }
  }

  // --- RFC 9162 Merkle trees (rooms/tlog/merkle.py) ------------------------------------------

  async function sha256(...parts) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(parts)));
  }

  /** SHA-256(0x00 ‖ entry): the hash of one log entry, e.g. a ballot's leaf bytes. */
  function leafHash(entry) {
    return sha256(Uint8Array.of(0), toBytes(entry, "malformed"));
  }

  const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

  /** The root `proof` implies for `leaf` at `index` (RFC 9162 2.1.3.2, steps 1-4). */
  async function rootFromInclusionProof(index, size, leaf, proof) {
    const m = toInteger(index, "index");
    const n = toInteger(size, "size");
    if (!(m >= 0n && m < n)) fail("not_included", `leaf index ${m} is not below the tree size ${n}`);
    const hashes = toHashes(proof);
    let r = toHash(leaf);
    checkHashes("not_included", [r, ...hashes]);
    let fn = m;
    let sn = n - 1n;
    for (const p of hashes) {
      if (sn === 0n) fail("not_included", "the inclusion proof is longer than the path to the root");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        while (fn !== 0n && (fn & 1n) === 0n) { // levels where the path has no sibling
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) fail("not_included", "the inclusion proof is shorter than the path to the root");
    return r;
  }

  /** Resolves true if `leaf` is at `index` in the tree (`size`, `root`); else rejects. */
  async function verifyInclusion(index, size, leaf, proof, root) {
    const computed = await rootFromInclusionProof(index, size, leaf, proof);
    if (!equal(computed, toHash(root))) {
      fail("not_included", "the inclusion proof does not lead to the root");
    }
    return true;
  }

  /** Resolves true if the tree (`size2`, `root2`) extends (`size1`, `root1`); else rejects.
   *
   * RFC 9162 2.1.4.2 for 0 < size1 < size2; equal sizes need equal roots and an empty
   * proof; a size1 of 0 is refused, as PROOF(0, D[n]) is undefined. */
  async function verifyConsistency(size1, size2, proof, root1, root2) {
    const m = toInteger(size1, "size1");
    const n = toInteger(size2, "size2");
    const hashes = toHashes(proof);
    const oldRoot = toHash(root1);
    const newRoot = toHash(root2);
    const refuse = (message) => fail("inconsistent", message);
    if (m < 1n) refuse("a consistency proof needs an old tree size of at least 1");
    if (n < m) refuse(`the new tree size ${n} is below the old size ${m}`);
    if (m === n) {
      if (hashes.length) refuse("a tree is consistent with itself only by an empty proof");
      if (!equal(oldRoot, newRoot)) refuse("two roots for the same tree size differ");
      return true;
    }
    if (!hashes.length) refuse("the consistency proof is empty"); // step 1
    checkHashes("inconsistent", hashes);
    const path = (m & (m - 1n)) === 0n ? [oldRoot, ...hashes] : hashes; // step 2
    let fn = m - 1n; // step 3
    let sn = n - 1n;
    while ((fn & 1n) === 1n) { // step 4
      fn >>= 1n;
      sn >>= 1n;
    }
    let fr = path[0]; // step 5
    let sr = path[0];
    for (const c of path.slice(1)) { // step 6
      if (sn === 0n) refuse("the consistency proof is longer than the trees are deep");
      if ((fn & 1n) === 1n || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        while (fn !== 0n && (fn & 1n) === 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) refuse("the consistency proof is shorter than the trees are deep"); // step 7
    if (!equal(fr, oldRoot)) refuse("the consistency proof does not lead to the old root");
    if (!equal(sr, newRoot)) refuse("the consistency proof does not lead to the new root");
    return true;
  }

  // --- tlog-proof (rooms/tlog/proof.py) ---------------------------------------------------

  /** Reads a receipt file: {index: BigInt, proof: [Uint8Array], checkpoint: Uint8Array (the
   * signed note, read only once verified), extra: Uint8Array | null}. */
  function parseProof(input) {
    const data = toBytes(input, "malformed");
    let cut = -1;
    for (let i = 0; i + 1 < data.length; i++) {
      if (data[i] === 10 && data[i + 1] === 10) {
        cut = i;
        break;
      }
    }
    const head = cut < 0 ? data : data.subarray(0, cut);
    const checkpoint = cut < 0 ? new Uint8Array(0) : data.slice(cut + 2);
    if (head.some((b) => b > 0x7f)) fail("malformed", "the lines before the checkpoint are ASCII");
    const lines = octets(head).split("\n");
    if (lines[0] !== HEADER || cut < 0 || !checkpoint.length) {
      fail("malformed", `a tlog-proof starts with ${HEADER}, then lines, then a note`);
    }
    let extra = null;
    if (lines.length > 1 && lines[1].startsWith("extra ")) {
      extra = decodeBase64(lines.splice(1, 1)[0].slice("extra ".length));
      if (!extra || !extra.length) fail("malformed", "the extra line is non-empty canonical base64");
    }
    const [indexLine = "", ...hashLines] = lines.slice(1);
    const index = indexLine.startsWith("index ") ? decodeDecimal(indexLine.slice(6)) : null;
    if (index === null) {
      fail("malformed", `not an index line (decimal, no leading zeroes): ${JSON.stringify(indexLine)}`);
    }
    if (hashLines.length > MAX_PROOF_HASHES) {
      fail("malformed", `more than ${MAX_PROOF_HASHES} inclusion proof lines`);
    }
    const proof = hashLines.map((line) => {
      const value = decodeBase64(line);
      if (!value || value.length !== HASH_SIZE) {
        fail("malformed", `not a base64 32-byte hash: ${JSON.stringify(line)}`);
      }
      return value;
    });
    return { index, proof, checkpoint, extra };
  }

  // --- signed notes (rooms/tlog/notes.py) --------------------------------------------------------

  function isKeyName(name) {
    return name !== "" && !name.includes("+") && !SPACE_OR_CONTROL.test(name) &&
      isWellFormed(name);
  }

  function parseSignatureLine(line) {
    const rest = line.startsWith(DASH) ? line.slice(DASH.length) : line;
    const space = rest.indexOf(" ");
    const name = space < 0 ? rest : rest.slice(0, space);
    const value = space < 0 ? null : decodeBase64(rest.slice(space + 1));
    if (!line.startsWith(DASH) || space < 0 || !isKeyName(name)) {
      fail("malformed", `not a signature line: ${JSON.stringify(line)}`);
    }
    if (!value || value.length < 5) {
      fail("malformed", `not a base64 key ID and signature: ${JSON.stringify(line)}`);
    }
    return { name, keyId: uint32(value), signature: value.slice(4) };
  }

  /** Reads a signed note (text or UTF-8 bytes) without verifying it: {text, signatures:
   * [{name, keyId, signature}]}; the text ends at the last blank line. */
  function parseNote(message) {
    const { text, lines } = splitNote(message);
    return { text, signatures: lines.map(parseSignatureLine) };
  }

  /** The note's text and its signature lines, not yet parsed. */
  function splitNote(message) {
    const decoded = toText(message, "malformed", "a note");
    if (CONTROL.test(decoded)) {
      fail("malformed", "a note has no control characters other than newline");
    }
    const split = decoded.lastIndexOf("\n\n");
    if (split < 0) fail("malformed", "no blank line between the text and the signatures");
    const text = decoded.slice(0, split + 1);
    const block = decoded.slice(split + 2);
    if (!block.endsWith("\n")) fail("malformed", "the signature lines end with a newline");
    const lines = block.slice(0, -1).split("\n");
    if (lines.length > MAX_SIGNATURES) {
      fail("malformed", `more than ${MAX_SIGNATURES} signature lines`);
    }
    return { text, lines };
  }

  async function keyId(name, type, publicKey) {
    const digest = await sha256(utf8.encode(name), Uint8Array.of(10, type), publicKey);
    return uint32(digest);
  }

  /** A vkey `<name>+<hex key ID>+base64(type ‖ key)` of the given type, its ID checked. */
  async function parseVkey(vkey, type) {
    const [name, hexId = "", key64 = ""] = splitTwice(vkey, "+"); // base64 has '+' of its own
    const material = decodeBase64(key64);
    if (!KEY_ID.test(hexId) || !material || !material.length) {
      fail("bad_policy", `not a vkey: ${JSON.stringify(vkey)}`);
    }
    if (!isKeyName(name)) fail("bad_policy", `not a key name: ${JSON.stringify(name)}`);
    const publicKey = material.slice(1);
    const id = await keyId(name, material[0], publicKey);
    if (id !== parseInt(hexId, 16)) {
      fail("bad_policy", `the key ID of ${JSON.stringify(name)} is ${hex8(id)}, not ${hexId}`);
    }
    if (material[0] !== type) {
      const kind = type === SIGNATURE_ED25519 ? "an Ed25519 note key (type 0x01)"
        : "a cosignature/v1 witness key (type 0x04)";
      fail("bad_policy", `not ${kind}: ${JSON.stringify(vkey)}`);
    }
    if (publicKey.length !== 32) {
      fail("bad_policy", `an Ed25519 public key has 32 bytes, not ${publicKey.length}`);
    }
    return { name, keyId: id, publicKey, vkey };
  }

  function splitTwice(text, separator) {
    const first = text.indexOf(separator);
    if (first < 0) return [text];
    const second = text.indexOf(separator, first + 1);
    if (second < 0) return [text.slice(0, first), text.slice(first + 1)];
    return [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
  }

  // --- checkpoints (rooms/tlog/checkpoint.py) --------------------------------------------------

  /** Reads a checkpoint note text: {origin, size: BigInt, root: Uint8Array, extensions}. */
  function parseCheckpoint(text) {
    if (typeof text !== "string" || !text.endsWith("\n") || CONTROL.test(text)) {
      fail("malformed", "a checkpoint is lines ending in newlines, without controls");
    }
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3 || lines.some((line) => line === "")) {
      fail("malformed", "a checkpoint is at least three lines, none of them empty");
    }
    const [origin, sizeLine, rootLine, ...extensions] = lines;
    const size = decodeDecimal(sizeLine);
    if (size === null) {
      fail("malformed", `not a tree size (decimal, no leading zeroes): ${JSON.stringify(sizeLine)}`);
    }
    const rootHash = decodeBase64(rootLine);
    if (!rootHash || rootHash.length !== HASH_SIZE) {
      fail("malformed", `not a base64 32-byte root hash: ${JSON.stringify(rootLine)}`);
    }
    return { origin, size, root: rootHash, extensions };
  }

  // --- tlog-policy (rooms/tlog/policy.py) -------------------------------------------------

  /** Reads a policy file: {logs: [{name, keyId, publicKey, vkey, url}], witnesses: [{name,
   * keyName, keyId, publicKey, vkey, url}], groups: [{name, threshold, members}], quorum}.
   *
   * Async: each vkey's key ID is checked with SHA-256. As in Python, names compare as
   * octet strings; they are returned decoded from UTF-8 (U+FFFD for invalid octets), and a
   * file whose distinct names would decode alike is refused. */
  async function parsePolicy(input) {
    const lines = octets(toBytes(input, "bad_policy")).split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const rules = new PolicyRules();
    for (const [i, line] of lines.entries()) {
      try {
        await readPolicyLine(line, rules);
      } catch (error) {
        if (error instanceof TlogError) fail("bad_policy", `line ${i + 1}: ${error.message}`);
        throw error;
      }
    }
    if (rules.quorum === null) fail("bad_policy", "a policy has a quorum line");
    return { logs: rules.logs, witnesses: rules.witnesses, groups: rules.groups, quorum: rules.quorum };
  }

  const display = (name) => lenientUtf8.decode(fromOctets(name));
  const quoted = (name) => JSON.stringify(display(name));

  class PolicyRules {
    constructor() {
      this.logs = [];
      this.witnesses = [];
      this.groups = [];
      this.quorum = null;
      this.names = new Set(); // as octets
      this.shown = new Set(); // as decoded
    }

    log(log) {
      if (this.logs.some((other) => equal(other.publicKey, log.publicKey))) {
        fail("bad_policy", `two logs have the key of ${log.vkey}`);
      }
      this.logs.push(log);
    }

    witness(name, key, url) {
      this.define(name);
      if (this.witnesses.some((other) => equal(other.publicKey, key.publicKey))) {
        fail("bad_policy", `two witnesses have the key of ${key.vkey}`);
      }
      this.witnesses.push({ name: display(name), keyName: key.name, keyId: key.keyId,
        publicKey: key.publicKey, vkey: key.vkey, url });
    }

    group(name, threshold, members) {
      for (const member of members) {
        if (!this.names.has(member)) {
          fail("bad_policy", `group ${quoted(name)}: ${quoted(member)} is not defined before it`);
        }
      }
      if (new Set(members).size !== members.length) {
        fail("bad_policy", `group ${quoted(name)} lists a member twice`);
      }
      if (!(threshold >= 1n && threshold <= BigInt(members.length))) {
        fail("bad_policy", `group ${quoted(name)} needs 1 <= k <= ${members.length}`);
      }
      this.define(name);
      this.groups.push({ name: display(name), threshold: Number(threshold),
        members: members.map(display) });
    }

    setQuorum(name) {
      if (this.quorum !== null) fail("bad_policy", "a policy has one quorum line");
      if (name !== NONE && !this.names.has(name)) {
        fail("bad_policy", `the quorum ${quoted(name)} is not defined before it`);
      }
      this.quorum = display(name);
    }

    define(name) {
      if (name === NONE || this.names.has(name)) {
        fail("bad_policy", `the name ${quoted(name)} is taken`);
      }
      if (this.shown.has(display(name))) {
        fail("bad_policy", `the name ${quoted(name)} reads like another (invalid UTF-8)`);
      }
      this.names.add(name);
      this.shown.add(display(name));
    }
  }

  /** One policy line, as a string of octets. */
  async function readPolicyLine(raw, rules) {
    const bad = POLICY_OCTET.exec(raw);
    if (bad) {
      const code = bad[0].charCodeAt(0).toString(16).padStart(2, "0");
      fail("bad_policy", `octet 0x${code} is not allowed`);
    }
    const items = raw.replace(/^[ \t]+|[ \t]+$/g, "").split(POLICY_SPACES);
    const [keyword, ...args] = items;
    if (keyword === "" || keyword.startsWith("#")) return;
    if (keyword === "log" && (args.length === 1 || args.length === 2)) {
      const key = await parseVkey(vkeyText(args[0]), SIGNATURE_ED25519);
      rules.log({ ...key, url: args.length === 2 ? display(args[1]) : null });
    } else if (keyword === "witness" && (args.length === 2 || args.length === 3)) {
      const key = await parseVkey(vkeyText(args[1]), SIGNATURE_COSIGNATURE_V1);
      rules.witness(args[0], key, args.length === 3 ? display(args[2]) : null);
    } else if (keyword === "group" && args.length >= 3) {
      const [name, threshold, ...members] = args;
      rules.group(name, policyThreshold(threshold, members.length), members);
    } else if (keyword === "quorum" && args.length === 1) {
      rules.setQuorum(args[0]);
    } else {
      fail("bad_policy", `not a log, witness, group or quorum line: ${quoted(keyword)} ...`);
    }
  }

  function vkeyText(word) {
    try {
      return strictUtf8.decode(fromOctets(word));
    } catch (_) {
      return fail("bad_policy", `not a key name (not UTF-8): ${quoted(word)}`);
    }
  }

  function policyThreshold(text, members) {
    if (text === "all") return BigInt(members);
    if (text === "any") return 1n;
    const value = decodeDecimal(text);
    if (value === null) {
      fail("bad_policy", `a threshold is all, any or a decimal number: ${quoted(text)}`);
    }
    return value;
  }

  /** Whether the witnesses named in `cosigners` (policy names) satisfy the quorum. */
  function witnessed(policy, cosigners) {
    const cosigned = new Set(cosigners);
    const done = new Map(policy.witnesses.map((w) => [w.name, cosigned.has(w.name)]));
    done.set(NONE, true);
    for (const group of policy.groups) { // each group names only earlier ones
      const count = group.members.filter((member) => done.get(member)).length;
      done.set(group.name, count >= group.threshold);
    }
    return done.get(policy.quorum) === true;
  }

  // --- verifying signatures and receipts ----------------------------------------------------

  // RFC 8032 section 7.1, TEST 1: a public key and its signature of the empty message.
  const PROBE_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  const PROBE_SIGNATURE =
    "5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw==";
  let support = null;

  /** Resolves whether this browser verifies Ed25519 in WebCrypto (checked once). */
  function isSupported() {
    if (support === null) {
      support = (async () => {
        try {
          const subtle = root.crypto && root.crypto.subtle;
          if (!subtle) return false; // not a secure context, or a very old browser
          const key = await subtle.importKey("raw", decodeBase64(PROBE_KEY), { name: "Ed25519" },
            false, ["verify"]);
          return await subtle.verify({ name: "Ed25519" }, key, decodeBase64(PROBE_SIGNATURE),
            new Uint8Array(0));
        } catch (_) {
          return false;
        }
      })();
    }
    return support;
  }

  async function importKey(publicKey, vkey) {
    try {
      return await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (_) {
      return fail("bad_policy", `the key of ${vkey} is not an Ed25519 public key`);
    }
  }

  /** The policy's keys as note verifiers: {name, keyId, verify(text, signature), witness}. */
  async function policyVerifiers(policy) {
    const keys = [...policy.logs, ...policy.witnesses.map((w) => ({ ...w, name: w.keyName }))];
    keys.forEach((key, i) => {
      if (keys.findIndex((k) => k.name === key.name && k.keyId === key.keyId) !== i) {
        fail("bad_policy", `two keys are named ${key.name}+${hex8(key.keyId)}`);
      }
    });
    const verifiers = [];
    for (const log of policy.logs) {
      const key = await importKey(log.publicKey, log.vkey);
      verifiers.push({ name: log.name, keyId: log.keyId, witness: null,
        verify: (text, signature) => ed25519(key, signature, text) });
    }
    for (const witness of policy.witnesses) {
      const key = await importKey(witness.publicKey, witness.vkey);
      verifiers.push({ name: witness.keyName, keyId: witness.keyId, witness: witness.name,
        verify: (text, signature) => cosignatureVerifies(key, text, signature) });
    }
    return verifiers;
  }

  async function ed25519(key, signature, message) {
    if (signature.length !== 64) return false;
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }

  /** A cosignature/v1 signature: 8-byte big-endian timestamp ‖ Ed25519 signature of
   * "cosignature/v1\ntime <timestamp>\n" ‖ the checkpoint text (c2sp.org/tlog-cosignature). */
  async function cosignatureVerifies(key, text, signature) {
    if (signature.length !== 8 + 64) return false;
    const view = new DataView(signature.buffer, signature.byteOffset, 8);
    const timestamp = view.getBigUint64(0, false);
    if (timestamp > MAX_TIMESTAMP) return false;
    const message = concat([utf8.encode(`cosignature/v1\ntime ${timestamp}\n`), text]);
    return ed25519(key, signature.subarray(8), message);
  }

  /** Policy.open_checkpoint: signatures by known keys verify, the log named as the origin
   * signed, and the cosigners make the quorum. Resolves {origin, size, root, cosigners}. */
  async function openCheckpoint(message, policy, verifiers) {
    const note = splitNote(message);
    const signed = utf8.encode(note.text);
    const verified = [];
    // Line by line, as Python's open_note: a known key's bad signature is refused before a
    // later line is read.
    for (const line of note.lines) {
      const s = parseSignatureLine(line);
      const verifier = verifiers.find((v) => v.name === s.name && v.keyId === s.keyId);
      if (!verifier) continue; // unknown keys are ignored
      if (!(await verifier.verify(signed, s.signature))) {
        fail("bad_signature", `the signature of known key ${s.name}+${hex8(s.keyId)} does not verify`);
      }
      verified.push(verifier);
    }
    if (!verified.length) fail("unknown_log", "no key of the policy signed the checkpoint");
    const checkpoint = parseCheckpoint(note.text);
    const byLogs = verified.filter((v) => v.witness === null);
    if (!byLogs.length) {
      fail("unknown_log", `no known log key signed the checkpoint of ${JSON.stringify(checkpoint.origin)}`);
    }
    if (byLogs.every((v) => v.name !== checkpoint.origin)) { // tlog-policy: "Defining a log"
      fail("unknown_log", `no log key named ${JSON.stringify(checkpoint.origin)} signed its checkpoint`);
    }
    const cosigners = [...new Set(verified.filter((v) => v.witness !== null).map((v) => v.witness))];
    if (!witnessed(policy, cosigners)) {
      const by = cosigners.length ? cosigners.join(", ") : "no witness";
      fail("quorum", `the quorum ${JSON.stringify(policy.quorum)} is not met by ${by}`);
    }
    return { ...checkpoint, cosigners };
  }

  function parseLeaf(extra) {
    let leaf;
    try {
      leaf = JSON.parse(strictUtf8.decode(extra));
    } catch (_) {
      fail("malformed", "the receipt's extra line is not a ballot (JSON in UTF-8)");
    }
    if (leaf === null || typeof leaf !== "object" || Array.isArray(leaf)) {
      fail("malformed", "the receipt's extra line is not a ballot (a JSON object)");
    }
    return leaf;
  }

  function expectedCode(expect) {
    const code = String(expect).replace(/[\s-]/g, "").toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(code)) fail("malformed", "a receipt code is 4 to 64 hex digits");
    return code;
  }

  async function underFinal(promise) {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof TlogError) fail(error.code, `the final checkpoint: ${error.message}`);
      throw error;
    }
  }

  /** Checks a voter's receipt. Never rejects for a bad input: resolves
   * {ok: true, leaf, code, hash, index, size, origin, cosigners, final: null | {size,
   * cosigners}} or {ok: false, code, reason}.
   *
   * `proof` is the receipt file (its `extra` line holds the ballot's leaf bytes); `policy`
   * the poll's policy file; `final` (optional) a later checkpoint note of the same log and
   * `consistency` the base64 hashes proving the receipt's tree is a prefix of it; `expect`
   * (optional) the receipt code the voter noted, a prefix of the leaf hash in hex. */
  async function verifyReceipt({ proof, policy, final = null, consistency = null, expect = null } = {}) {
    try {
      if (!(await isSupported())) {
        fail("unsupported", "This browser cannot check Ed25519 signatures; " +
          "open the receipt in a current version of Chrome, Edge, Firefox or Safari.");
      }
      const trust = await parsePolicy(policy);
      const verifiers = await policyVerifiers(trust);
      const receipt = parseProof(proof);
      if (receipt.extra === null) fail("malformed", "the receipt carries no ballot (no extra line)");
      const leaf = parseLeaf(receipt.extra);
      const hash = await leafHash(receipt.extra);
      const digest = hex(hash);
      if (expect !== null && expect !== undefined && !digest.startsWith(expectedCode(expect))) {
        fail("leaf_mismatch", `the receipt holds ballot ${digest.slice(0, CODE_DIGITS)}, ` +
          "not the one whose code you noted");
      }
      const tree = await openCheckpoint(receipt.checkpoint, trust, verifiers);
      await verifyInclusion(receipt.index, tree.size, hash, receipt.proof, tree.root);
      let later = null;
      if (final !== null && final !== undefined) {
        const last = await underFinal(openCheckpoint(final, trust, verifiers));
        if (last.origin !== tree.origin) {
          fail("inconsistent", `the final checkpoint is of ${JSON.stringify(last.origin)}, ` +
            `not of ${JSON.stringify(tree.origin)}`);
        }
        const hashes = Array.from(consistency || [], (h) => {
          const value = typeof h === "string" ? decodeBase64(h) : toHash(h);
          if (!value) fail("malformed", `not a base64 hash in the consistency proof: ${JSON.stringify(h)}`);
          return value;
        });
        await verifyConsistency(tree.size, last.size, hashes, tree.root, last.root);
        later = { size: toNumber(last.size), cosigners: last.cosigners };
      } else if (consistency !== null && consistency !== undefined && consistency.length) {
        fail("malformed", "a consistency proof needs the final checkpoint it leads to");
      }
      return {
        ok: true,
        leaf,
        code: digest.slice(0, CODE_DIGITS),
        hash: digest,
        index: toNumber(receipt.index),
        size: toNumber(tree.size),
        origin: tree.origin,
        cosigners: tree.cosigners,
        final: later,
      };
    } catch (error) {
      if (error instanceof TlogError) return { ok: false, code: error.code, reason: error.message };
      throw error;
    }
  }

  const PROMISE_HEADER = "mvoting receipt promise v1";

  /** Whether `text` is a receipt promise (rooms/promise.py) rather than a tlog-proof. */
  function isPromise(text) {
    return typeof text === "string" && text.startsWith(PROMISE_HEADER + "\n");
  }

  /** Checks a receipt promise: the log's key of `policy`, named as the promise's origin,
   * signed its four lines (header, origin, leaf hash, entry), and the leaf hash is the
   * entry's. It names no index and no size: the proof comes once the results are shown.
   * Resolves {ok: true, leaf, code, hash, origin} or {ok: false, code, reason}. */
  async function verifyPromise({ promise, policy, expect = null } = {}) {
    try {
      if (!(await isSupported())) {
        fail("unsupported", "This browser cannot check Ed25519 signatures; " +
          "open the receipt in a current version of Chrome, Edge, Firefox or Safari.");
      }
      const trust = await parsePolicy(policy);
      const verifiers = (await policyVerifiers(trust)).filter((v) => v.witness === null);
      const note = splitNote(promise);
      const lines = note.text.split("\n");
      if (lines.length !== 5 || lines[0] !== PROMISE_HEADER || lines[4] !== "") {
        fail("malformed", "a receipt promise has four lines: header, origin, leaf, entry");
      }
      const origin = lines[1];
      const signed = utf8.encode(note.text);
      let byLog = false;
      for (const line of note.lines) {
        const s = parseSignatureLine(line);
        const verifier = verifiers.find((v) => v.name === s.name && v.keyId === s.keyId);
        if (!verifier) continue;
        if (!(await verifier.verify(signed, s.signature))) {
          fail("bad_signature", `the signature of known key ${s.name}+${hex8(s.keyId)} does not verify`);
        }
        if (verifier.name === origin) byLog = true;
      }
      if (!byLog) fail("unknown_log", `no log key named ${JSON.stringify(origin)} signed the promise`);
      const promised = decodeBase64(lines[2]);
      const entry = decodeBase64(lines[3]);
      if (!promised || promised.length !== 32 || !entry) {
        fail("malformed", "the promise's leaf hash and entry are base64");
      }
      const hash = await leafHash(entry);
      if (!equal(hash, promised)) fail("leaf_mismatch", "the promised leaf hash is not the entry's");
      const digest = hex(hash);
      if (expect !== null && expect !== undefined && !digest.startsWith(expectedCode(expect))) {
        fail("leaf_mismatch", `the promise holds ballot ${digest.slice(0, CODE_DIGITS)}, ` +
          "not the one whose code you noted");
      }
      return { ok: true, leaf: parseLeaf(entry), code: digest.slice(0, CODE_DIGITS), hash: digest, origin };
    } catch (error) {
      if (error instanceof TlogError) return { ok: false, code: error.code, reason: error.message };
      throw error;
    }
  }

  root.Tlog = Object.freeze({
    isPromise,
    verifyPromise,
    TlogError,
    isSupported,
    leafHash,
    parseProof,
    parsePolicy,
    parseNote,
    parseCheckpoint,
    rootFromInclusionProof,
    verifyInclusion,
    verifyConsistency,
    verifyReceipt,
  });
})(typeof window !== "undefined" ? window : globalThis);
