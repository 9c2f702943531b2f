import Database from "better-sqlite3";
import { unsealFile } from "../helpers.js";

/**
 * The suite's only direct SQL: it reaches under the engine to swap envelopes between rows. Written
 * against the table `memories`, its row key `id` and its column `envelope`; if a schema version
 * moves either, adjust this file alone.
 */
const ENVELOPES = "SELECT seq, id, envelope FROM memories WHERE length(envelope) > 0 ORDER BY id";
// Rows are addressed by `seq`: schema v2 keeps ids unique only within a namespace.
const SET_ENVELOPE = "UPDATE memories SET envelope = ? WHERE seq = ?";

export interface EnvelopeRow {
  seq: number;
  id: string;
  envelope: Buffer;
}

export function envelopeRows(db: string): EnvelopeRow[] {
  // Imports and compact seal rows into blocks: they move back into `memories` first (same memories).
  unsealFile(db);
  const conn = new Database(db, { fileMustExist: true, readonly: true });
  try {
    return conn.prepare(ENVELOPES).all() as EnvelopeRow[];
  } finally {
    conn.close();
  }
}

/** Puts `from`'s envelope into row `to` (and, with `swap`, `to`'s into `from`) in one transaction. */
export function moveEnvelope(db: string, from: EnvelopeRow, to: EnvelopeRow, swap: boolean): void {
  unsealFile(db);
  const conn = new Database(db, { fileMustExist: true });
  try {
    const set = conn.prepare(SET_ENVELOPE);
    conn.transaction(() => {
      set.run(from.envelope, to.seq);
      if (swap) set.run(to.envelope, from.seq);
    })();
  } finally {
    conn.close();
  }
}
