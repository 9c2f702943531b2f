import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { abandonedTemporaryPid, DerivedFolder } from "../../src/codec/derived-folder.js";
import { DerivedDirectory } from "../../src/store/derived-dir.js";
import { tempDir } from "../helpers.js";

/** A pid that ran and has exited: a process killed mid-write leaves one in its temporary file's name. */
function exitedPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""], { timeout: 30_000 });
  assert.equal(child.status, 0);
  return child.pid as number;
}

const hourAgo = () => new Date(Date.now() - 3_600_000);

describe("derived folders", () => {
  it("a folder that cannot be written never builds the content (review22 B3: the state's compression is skipped)", () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, "blocked"), "a file where the folder should be");
      let built = 0;
      new DerivedFolder(() => join(dir.path, "blocked")).write("state", () => {
        built++;
        return [new Uint8Array(8)];
      });
      assert.equal(built, 0);
      const folder = new DerivedFolder(() => join(dir.path, "ok"));
      folder.write("state", () => {
        built++;
        return [Uint8Array.of(1, 2, 3)];
      });
      assert.equal(built, 1);
      assert.deepEqual([...readFileSync(join(dir.path, "ok", "state"))], [1, 2, 3]);
    } finally {
      dir[Symbol.dispose]();
    }
  });

  it("a write removes the temporary files of that name left by killed writers, and keeps a running writer's and a recent one (review22 B4)", () => {
    const dir = tempDir();
    try {
      const folder = join(dir.path, "derived");
      mkdirSync(folder);
      const dead = exitedPid();
      const abandoned = `state.${dead}.0badf00d.tmp`;
      const recent = `state.${dead}.0000beef.tmp`;
      const running = `state.${process.ppid}.12345678.tmp`;
      const otherName = `other.${dead}.abcdef01.tmp`;
      for (const name of [abandoned, recent, running, otherName]) writeFileSync(join(folder, name), "half a state");
      for (const name of [abandoned, running, otherName]) utimesSync(join(folder, name), hourAgo(), hourAgo());

      new DerivedFolder(() => folder).write("state", () => [Uint8Array.of(7)]);

      assert.equal(existsSync(join(folder, abandoned)), false, "the killed writer's file is removed");
      assert.deepEqual(readdirSync(folder).sort(), [otherName, "state", recent, running].sort());
    } finally {
      dir[Symbol.dispose]();
    }
  });

  it("a private folder (the per-user one: states hold training texts) is made 0700, an older one is made so, and its files are 0600 (review24 I1)", () => {
    using dir = tempDir();
    const mode = (path: string) => statSync(path).mode & 0o777;
    const made = join(dir.path, "cache", "derived");
    new DerivedFolder(() => made, { private: true }).write("cm-x.state", () => [Buffer.from("texts")]);
    assert.equal(mode(made), 0o700);
    assert.equal(mode(join(made, "cm-x.state")), 0o600);
    const older = join(dir.path, "older");
    mkdirSync(older, { mode: 0o755 });
    chmodSync(older, 0o755);
    new DerivedFolder(() => older, { private: true }).write("cm-y.state", () => [Buffer.from("texts")]);
    assert.equal(mode(older), 0o700);
    assert.equal(mode(join(older, "cm-y.state")), 0o600);
    // Beside a store: the default modes (as readable as the store).
    const beside = join(dir.path, "s.db.derived");
    new DerivedFolder(() => beside).write("cm-z.state", () => [Buffer.from("texts")]);
    assert.equal(mode(join(beside, "cm-z.state")), 0o666 & ~process.umask());
  });

  it("a bounded folder (the per-user one) keeps its size by dropping the least recently used files, a read counting as a use", () => {
    using dir = tempDir();
    const folder = join(dir.path, "derived");
    const bounded = new DerivedFolder(() => folder, { private: true, maxBytes: 250 });
    const kb = (n: number) => () => [Buffer.alloc(n, 1)];
    const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000);
    bounded.write("cm-a.state", kb(100));
    bounded.write("cm-b.state", kb(100));
    utimesSync(join(folder, "cm-a.state"), ago(5), ago(5));
    utimesSync(join(folder, "cm-b.state"), ago(3), ago(3));
    // Reading a (untouched for over an hour) marks it used: b is now the least recent.
    const read = bounded.open("cm-a.state");
    assert.ok(read);
    read.close();
    bounded.write("cm-c.state", kb(100));
    assert.deepEqual(readdirSync(folder).sort(), ["cm-a.state", "cm-c.state"], "300 bytes over a bound of 250: the least recent (b) went");
    // The file just written is kept even when it alone is over the bound.
    bounded.write("cm-d.state", kb(400));
    assert.deepEqual(readdirSync(folder), ["cm-d.state"]);
    // An unbounded folder (beside a store: the store's prune tidies it) keeps everything.
    const beside = join(dir.path, "s.db.derived");
    const unbounded = new DerivedFolder(() => beside);
    for (const name of ["cm-a.state", "cm-b.state", "cm-c.state"]) unbounded.write(name, kb(1000));
    assert.equal(readdirSync(beside).length, 3);
  });

  it("pruning an asset removes its state beside a store and in the per-user folder too: it holds forgotten texts (review25 I-2)", () => {
    using dir = tempDir();
    const perUser = new DerivedDirectory({ folder: join(dir.path, "derived") });
    const beside = new DerivedDirectory(join(dir.path, "s.db"));
    assert.deepEqual(perUser.options, { private: true, maxBytes: 2 * 2 ** 30 }, "the per-user folder is private and bounded (its workers get these options too)");
    assert.deepEqual(beside.options, {});
    for (const folder of [perUser, beside]) {
      folder.write("cm-abc.state", () => [Buffer.from("state")]);
      folder.write("cm-def.state", () => [Buffer.from("state")]);
      folder.removeFor("abc");
      assert.deepEqual(readdirSync(folder.path), ["cm-def.state"]);
    }
  });

  it("a dangling link or a file gone since the listing does not switch the bound off (review25 I-7)", () => {
    using dir = tempDir();
    const folder = join(dir.path, "derived");
    const bounded = new DerivedFolder(() => folder, { maxBytes: 250 });
    bounded.write("cm-a.state", () => [Buffer.alloc(200)]);
    symlinkSync(join(dir.path, "nowhere"), join(folder, "cm-link.state"));
    utimesSync(join(folder, "cm-a.state"), hourAgo(), hourAgo());
    bounded.write("cm-b.state", () => [Buffer.alloc(200)]);
    assert.deepEqual(readdirSync(folder).sort(), ["cm-b.state", "cm-link.state"]);
  });

  it("names a temporary file's writer only for the file's own name", () => {
    assert.equal(abandonedTemporaryPid("cm-ab.state.4242.deadbeef.tmp", "cm-ab.state"), 4242);
    assert.equal(abandonedTemporaryPid("cm-ab.state.x.deadbeef.tmp", "cm-ab.state"), undefined);
    assert.equal(abandonedTemporaryPid("cm-abc.state.4242.deadbeef.tmp", "cm-ab.state"), undefined);
    assert.equal(abandonedTemporaryPid("cm-ab.state", "cm-ab.state"), undefined);
  });
});
