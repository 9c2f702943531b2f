import { strict as assert } from "node:assert";
import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { uploadFolder } from "../../src/server/upload-folder.js";
import { tempDir } from "../helpers.js";

const uid = process.getuid?.() ?? 0;

describe("the upload folder of a server's import jobs", () => {
  it("is one per store, private to this user, under a folder of this user's (the uploads of every server on a machine shared one folder anyone could have made)", () => {
    using dir = tempDir();
    const a = uploadFolder("/stores/a.db", dir.path);
    const b = uploadFolder("postgres://db.example/memzip", dir.path);
    assert.notEqual(a, b);
    assert.equal(uploadFolder("/stores/a.db", dir.path), a);
    // One store however its path is spelled (a restarted server given "./store.db" found no upload to resume).
    const store = join(dir.path, "store.db");
    writeFileSync(store, "");
    symlinkSync(store, join(dir.path, "linked.db"));
    const spelled = [store, `${dir.path}/./store.db`, join(dir.path, "linked.db"), relative(process.cwd(), store)].map((path) => uploadFolder(path, dir.path));
    assert.deepEqual(new Set(spelled).size, 1, spelled.join(" "));
    for (const folder of [a, b, join(dir.path, `memzip-uploads-${uid}`)]) assert.equal(statSync(folder).mode & 0o777, 0o700, folder);

    // One of this user's that others may enter (made by an earlier build, or by hand) is made private.
    chmodSync(join(dir.path, `memzip-uploads-${uid}`), 0o777);
    uploadFolder("/stores/a.db", dir.path);
    assert.equal(statSync(join(dir.path, `memzip-uploads-${uid}`)).mode & 0o777, 0o700);
  });

  it("refuses a link in its place, and (run as root) a folder another user owns", { skip: process.getuid === undefined }, () => {
    using dir = tempDir();
    const elsewhere = join(dir.path, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o777 });
    const linked = join(dir.path, "linked");
    mkdirSync(linked);
    symlinkSync(elsewhere, join(linked, `memzip-uploads-${uid}`));
    assert.throws(() => uploadFolder("/stores/a.db", linked), (error: Error & { code?: string }) => error.code === "E_RESOURCE" && /not a folder of this user's/.test(error.message));
    if (uid === 0) {
      const owned = join(dir.path, "owned");
      mkdirSync(join(owned, `memzip-uploads-${uid}`), { recursive: true, mode: 0o777 });
      chownSync(join(owned, `memzip-uploads-${uid}`), 65534, 65534);
      assert.throws(() => uploadFolder("/stores/a.db", owned), (error: Error & { code?: string }) => error.code === "E_RESOURCE");
    }
  });
});
