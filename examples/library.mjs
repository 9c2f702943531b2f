// memzip as a library: node examples/library.mjs (after npm run build). No model needed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine, MemzipError } from "memzip";

const dir = mkdtempSync(join(tmpdir(), "memzip-example-"));
const engine = Engine.open({ db: join(dir, "memories.db"), namespace: "agent-7" });
try {
  // remember: the text is stored exactly; the smallest verified envelope wins.
  const meeting = await engine.remember({ text: "Meeting with Li Qiang moved to Friday 10:30, room 4.", kind: "meeting" });
  await engine.remember({ text: "The user prefers green tea, no sugar.", kind: "note", tags: ["prefs"] });
  console.log(`remembered ${meeting.id}: ${meeting.originalBytes} bytes as ${meeting.codec}`);

  // recall: the original, byte for byte.
  console.log(`recalled: ${await engine.recall(meeting.id)}`);

  // search: by meaning and keywords (the index is built on first use).
  const hits = await engine.searchMemories("green tea", { limit: 1 });
  console.log(`search: ${hits.map((hit) => hit.id).join(", ")}`);

  // list and stats.
  for (const memory of await engine.list({ namespace: "agent-7" })) console.log(`listed: ${memory.id} (${memory.kind})`);
  const stats = await engine.stats();
  console.log(`stats: ${stats.memories} memories, ${stats.originalBytes} bytes of text`);

  // errors: a MemzipError with a stable code and a hint that names the fix.
  try {
    await engine.recall("no-such-memory");
  } catch (error) {
    if (!(error instanceof MemzipError)) throw error;
    console.log(`error: ${error.code} (${error.hint})`);
  }
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
