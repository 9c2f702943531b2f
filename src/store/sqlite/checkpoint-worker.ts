/**
 * The checkpoint thread (`Checkpointer`): copies the write-ahead log back into the store file
 * (`PRAGMA wal_checkpoint(PASSIVE)`: it waits for no reader or writer) every few hundred
 * milliseconds and when asked, over its own connection, so the copy and its fsync never stall the
 * event loop of the connection that writes. A writer starts the log over only after a checkpoint
 * copied all of it, which passive ones rarely manage under steady writes: past RESTART_FRAMES the
 * thread also runs a RESTART checkpoint, which holds new writes back while it copies the few frames
 * the passive one left and syncs (milliseconds), so the log file stays bounded. It waits for no
 * reader: while one still reads an older snapshot it answers busy at once and is tried again at the
 * next tick (a wait there would hold the write lock, and the writer's event loop, for as long).
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

export type CheckpointRequest = { type: "now"; seq: number } | { type: "stop" };
/** `log`: frames in the log; `checkpointed`: frames copied back (both -1 when not in WAL mode). */
export type CheckpointReply = { seq: number; busy: number; log: number; checkpointed: number } | { seq: number; error: string };

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path, { fileMustExist: true });
db.pragma("busy_timeout = 2000");
/** Frames (1 KiB pages) in the log past which a restart checkpoint starts it over. */
const RESTART_FRAMES = 8192;

function checkpoint(): { busy: number; log: number; checkpointed: number } {
  const [row] = db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
  if (row && row.log > RESTART_FRAMES) {
    db.pragma("busy_timeout = 0");
    try {
      return (db.pragma("wal_checkpoint(RESTART)") as { busy: number; log: number; checkpointed: number }[])[0] ?? row;
    } finally {
      db.pragma("busy_timeout = 2000");
    }
  }
  return row ?? { busy: 0, log: -1, checkpointed: -1 };
}

const timer = setInterval(() => {
  try {
    checkpoint();
  } catch {
    // Tried again at the next tick (a checkpoint that cannot run now loses nothing: the log keeps every frame).
  }
}, intervalMs);

parentPort?.on("message", (request: CheckpointRequest) => {
  if (request.type === "stop") {
    clearInterval(timer);
    db.close();
    parentPort?.close();
    return;
  }
  try {
    parentPort?.postMessage({ seq: request.seq, ...checkpoint() } satisfies CheckpointReply);
  } catch (error) {
    parentPort?.postMessage({ seq: request.seq, error: error instanceof Error ? error.message : String(error) } satisfies CheckpointReply);
  }
});
