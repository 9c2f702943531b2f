import { Engine } from "../../src/engine.js";
import { isMemzipError } from "../../src/errors.js";
import type { Observation } from "./oracle.js";

/** What the library read back from a store in this process. */
export interface Readback extends Observation {
  /** Typed errors (MemzipError codes) met while opening, listing or reading. */
  typed: string[];
  /** Errors that were not a MemzipError: a crash of the library's contract. */
  untyped: string[];
}

/** Opens the store with the library and reads every memory it lists. */
export async function readBack(db: string): Promise<Readback> {
  const seen: Readback = { texts: new Map(), unreadable: new Set(), typed: [], untyped: [] };
  const texts = seen.texts as Map<string, string>;
  const unreadable = seen.unreadable as Set<string>;
  const fail = (error: unknown, where: string): void => {
    if (isMemzipError(error)) seen.typed.push(error.code);
    else seen.untyped.push(`${where}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`.slice(0, 300));
  };
  let engine: Engine;
  try {
    engine = Engine.open({ db, workers: 0 });
  } catch (error) {
    fail(error, "open");
    return seen;
  }
  try {
    let ids: string[] = [];
    try {
      ids = (await engine.list()).map((m) => m.id);
    } catch (error) {
      fail(error, "list");
    }
    for (const id of ids) {
      try {
        texts.set(id, await engine.recall(id));
      } catch (error) {
        unreadable.add(id);
        fail(error, `recall ${id}`);
      }
    }
  } finally {
    try {
      await engine.close();
    } catch (error) {
      fail(error, "close");
    }
  }
  return seen;
}
