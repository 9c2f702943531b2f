/**
 * When the write policy stops trying an expensive candidate (a language model) that keeps losing.
 *
 * Outcomes are kept per key (the engine's key: namespace, codec and its setup, priming asset, text
 * class). After `losses` attempts in a row that did not win, the candidate is skipped; it is tried
 * again after `firstGap` skipped memories, then after twice as many each time it loses again (at
 * most `maxGap`), and a win resets the key to "always try". No randomness and no clocks: the same
 * sequence of memories and outcomes gives the same decisions.
 *
 * Concurrency without chance: a `SkipSession` hands out tickets in the order memories come, and the
 * decision for ticket n depends only on the records at the session's start and the outcomes of
 * tickets before n − `lag` (folded in ticket order). A memory whose earlier outcomes are not known
 * yet waits for them; with at most `lag` memories in flight it never does. A key where the model
 * wins is therefore never held to fewer attempts at once than `lag`, and a key where it starts
 * losing costs at most `lag` attempts more than a sequential run would (a bounded, deterministic waste).
 */

/** What is remembered per key. */
export interface OutcomeRecord {
  /** Attempts in a row that did not win (reset by a win). */
  streak: number;
  /** Retries lost since the key was last won: the gap before the next retry is `firstGap · 2^level`. */
  level: number;
  /** Memories skipped since the last attempt. */
  since: number;
  /** Totals, for stats: attempts, wins, memories skipped, and bytes by which a finished attempt lost. */
  tries: number;
  wins: number;
  skipped: number;
  lostBytes: number;
}

export interface SkipSettings {
  /** Attempts in a row that must lose before the candidate is skipped. */
  losses: number;
  /** Memories skipped before the first retry. */
  firstGap: number;
  /** The longest gap between retries. */
  maxGap: number;
  /** Outcomes of the last `lag` tickets are not waited for (see above). */
  lag: number;
}

export const SKIP_DEFAULTS: SkipSettings = { losses: 4, firstGap: 8, maxGap: 256, lag: 8 };

export function emptyRecord(): OutcomeRecord {
  return { streak: 0, level: 0, since: 0, tries: 0, wins: 0, skipped: 0, lostBytes: 0 };
}

/** Whether the next memory of a key with this record is tried. */
export function shouldTry(record: OutcomeRecord, settings: SkipSettings): boolean {
  if (record.streak < settings.losses) return true;
  return record.since >= Math.min(settings.maxGap, settings.firstGap * 2 ** record.level);
}

/**
 * An outcome: `win`, `loss` (with the bytes it lost by when it finished, none when it gave up at its
 * budget; `retry` when the key was skipping and this was its retry), or `skip`.
 */
export type Outcome = { kind: "win" } | { kind: "loss"; lostBy?: number; retry?: boolean } | { kind: "skip" };

/** The record after one more outcome (a new object; records are values). */
export function applyOutcome(record: OutcomeRecord, outcome: Outcome): OutcomeRecord {
  if (outcome.kind === "skip") return { ...record, since: record.since + 1, skipped: record.skipped + 1 };
  const tried = { ...record, since: 0, tries: record.tries + 1 };
  if (outcome.kind === "win") return { ...tried, streak: 0, level: 0, wins: record.wins + 1 };
  // A retry (the key was already skipping) that loses doubles the gap before the next one.
  const level = outcome.retry === true ? Math.min(record.level + 1, 30) : record.level;
  return { ...tried, streak: record.streak + 1, level, lostBytes: record.lostBytes + (outcome.lostBy ?? 0) };
}

interface TicketState {
  /** Set when the ticket asked for a decision (its key) or was released without one (null). */
  key?: string | null;
  tried?: boolean;
  /** Tried while the key was skipping (a retry). */
  retry?: boolean;
  /** Set when the outcome is known (a skip is known at once). */
  outcome?: Outcome;
}

/** One ticket: ask `decide` once (or never), then `settle` an attempt's outcome; `release` always (a no-op once settled). */
export interface SkipTicket {
  /** Whether to try the candidate for this memory (waits for the outcomes it depends on). */
  decide(key: string): Promise<boolean>;
  /** The outcome of an attempt `decide` allowed. */
  settle(outcome: Exclude<Outcome, { kind: "skip" }>): void;
  /** Ends the ticket: one that made no attempt (or whose attempt failed before an outcome) counts for nothing. */
  release(): void;
}

/**
 * A run of decisions in ticket order (one import, one recode). `start` is the records when the
 * session began (read once); `publish` receives each key's outcome as soon as every earlier ticket
 * has settled, in ticket order (the engine keeps them for later sessions and saves them).
 */
export class SkipSession {
  private readonly tickets: TicketState[] = [];
  /** Tickets before this index are forgotten (all settled and folded). */
  private base = 0;
  /** Records folded through ticket `folded − 1`, per key: what decisions read. */
  private readonly records = new Map<string, OutcomeRecord>();
  private folded = 0;
  /** Tickets before this index have been decided or released. */
  private decided = 0;
  /** Tickets before this index have been published. */
  private published = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly start: (key: string) => OutcomeRecord,
    private readonly settings: SkipSettings = SKIP_DEFAULTS,
    private readonly publish: (key: string, outcome: Outcome) => void = () => undefined,
  ) {}

  /** A ticket for the next memory, in the order memories come (take it before the first `await`). */
  ticket(): SkipTicket {
    const index = this.base + this.tickets.length;
    const state: TicketState = {};
    this.tickets.push(state);
    return {
      decide: (key) => this.decide(index, state, key),
      settle: (outcome) => {
        if (state.key === undefined || state.key === null || !state.tried || state.outcome) return;
        state.outcome = outcome.kind === "loss" && state.retry ? { ...outcome, retry: true } : outcome;
        this.progress();
      },
      release: () => {
        if (state.key === undefined) state.key = null;
        else if (state.key !== null && state.tried && !state.outcome) state.outcome = { kind: "loss", ...(state.retry ? { retry: true } : {}) };
        this.progress();
      },
    };
  }

  private at(index: number): TicketState {
    return this.tickets[index - this.base] as TicketState;
  }

  private async decide(index: number, state: TicketState, key: string): Promise<boolean> {
    // Decisions are made in ticket order, each once the outcomes up to `index − lag` are known.
    while (!(this.decided === index && this.fold(index - this.settings.lag))) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const record = this.view(index, key);
    const tried = shouldTry(record, this.settings);
    state.key = key;
    state.tried = tried;
    state.retry = tried && record.streak >= this.settings.losses;
    if (!tried) state.outcome = { kind: "skip" };
    this.decided++;
    this.progress();
    return tried;
  }

  /**
   * What decision `index` reads for `key`: the records folded through `index − lag`, then the
   * decisions since (outcomes not waited for): a try restarts the count of skipped memories, a skip
   * adds one. So a retry is not repeated by the memories decided while its outcome is pending.
   */
  private view(index: number, key: string): OutcomeRecord {
    let record = this.records.get(key) ?? this.start(key);
    for (let t = this.folded; t < index; t++) {
      const state = this.at(t);
      if (state.key !== key) continue;
      record = state.tried ? { ...record, since: 0 } : { ...record, since: record.since + 1 };
    }
    return record;
  }

  /** Folds outcomes in ticket order up to (not including) `until`; false when one of them is not known yet. */
  private fold(until: number): boolean {
    while (this.folded < until) {
      const state = this.at(this.folded);
      if (state.key === undefined || (state.key !== null && !state.outcome)) return false;
      if (state.key !== null && state.outcome) this.records.set(state.key, applyOutcome(this.records.get(state.key) ?? this.start(state.key), state.outcome));
      this.folded++;
    }
    return true;
  }

  private progress(): void {
    // Released tickets count as decided; a ticket that has not arrived holds the ones after it.
    while (this.decided < this.base + this.tickets.length && this.at(this.decided).key === null) this.decided++;
    while (this.published < this.base + this.tickets.length) {
      const state = this.at(this.published);
      if (state.key === undefined || (state.key !== null && !state.outcome)) break;
      if (state.key !== null && state.outcome) this.publish(state.key, state.outcome);
      this.published++;
    }
    // Forget what every reader is past.
    const done = Math.min(this.published, this.folded, this.decided);
    if (done - this.base > 1024) {
      this.tickets.splice(0, done - this.base);
      this.base = done;
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
