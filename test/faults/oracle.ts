/**
 * The harness's own record of what was written. Per id it keeps every text ever submitted
 * (`history`) and the set of states the store may legitimately be in now (`accept`: a text, or
 * `null` for "absent"). An acknowledged write narrows `accept` to its result; a write whose outcome
 * is unknown (killed, failed, racing) widens it.
 */
interface Entry {
  accept: Set<string | null>;
  history: Set<string>;
}

export interface Observation {
  /** Texts read back, by id. */
  texts: ReadonlyMap<string, string>;
  /** Ids the store listed but could not decode (a typed error). */
  unreadable: ReadonlySet<string>;
}

export interface Verdict {
  /** A text returned that was never written under that id: the one thing that must never happen. */
  wrong: string[];
  /** An acknowledged write (or delete) not reflected in the store (only where the fault must not lose data). */
  lost: string[];
  /** Ids under which a known text came back although that id was never written (a corrupted id). */
  renamed: string[];
}

export class Oracle {
  private readonly entries = new Map<string, Entry>();

  private entry(id: string): Entry {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { accept: new Set([null]), history: new Set() };
      this.entries.set(id, entry);
    }
    return entry;
  }

  /** The write was acknowledged: `id` now holds `text` (or one of `texts`, for duplicates in one batch). */
  acked(id: string, ...texts: string[]): void {
    const entry = this.entry(id);
    entry.accept = new Set(texts);
    for (const text of texts) entry.history.add(text);
  }

  /** The write was attempted but not acknowledged: it may or may not have happened. */
  pending(id: string, text: string): void {
    const entry = this.entry(id);
    entry.accept.add(text);
    entry.history.add(text);
  }

  ackedDelete(id: string): void {
    this.entry(id).accept = new Set([null]);
  }

  pendingDelete(id: string): void {
    this.entry(id).accept.add(null);
  }

  /** The text the store must hold now for `id`, when exactly one state is acceptable. */
  current(id: string): string | undefined {
    const accept = this.entries.get(id)?.accept;
    if (!accept || accept.size !== 1) return undefined;
    const [only] = accept;
    return only ?? undefined;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Ids whose only acceptable state is a text (acknowledged, no write in doubt). */
  settledIds(): string[] {
    return this.ids().filter((id) => this.current(id) !== undefined);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** True when `text` was written under any id. */
  knowsText(text: string): boolean {
    for (const entry of this.entries.values()) if (entry.history.has(text)) return true;
    return false;
  }

  /** True when `text` is a text written under `id` at some point. */
  wasWritten(id: string, text: string): boolean {
    return this.entries.get(id)?.history.has(text) === true;
  }

  /** Checks what was read back. `durable`: every acknowledged write must be there, exactly. */
  check(seen: Observation, durable: boolean): Verdict {
    const verdict: Verdict = { wrong: [], lost: [], renamed: [] };
    const allTexts = new Set<string>();
    for (const entry of this.entries.values()) for (const text of entry.history) allTexts.add(text);
    for (const [id, text] of seen.texts) {
      const entry = this.entries.get(id);
      if (!entry) {
        if (allTexts.has(text)) verdict.renamed.push(id);
        else verdict.wrong.push(`${id}: returned a text under an id never written`);
        continue;
      }
      if (!entry.history.has(text)) verdict.wrong.push(`${id}: returned a text never written under this id (${text.length} chars)`);
      else if (durable && !entry.accept.has(text)) {
        verdict.lost.push(entry.accept.size === 1 && entry.accept.has(null) ? `${id}: an acknowledged delete came back` : `${id}: returned an older text; the acknowledged one is gone`);
      }
    }
    if (!durable) return verdict;
    for (const [id, entry] of this.entries) {
      if (seen.texts.has(id)) continue;
      if (seen.unreadable.has(id)) {
        verdict.lost.push(`${id}: listed but unreadable`);
        continue;
      }
      if (!entry.accept.has(null)) verdict.lost.push(`${id}: acknowledged write missing`);
    }
    return verdict;
  }
}
