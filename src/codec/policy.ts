import type { AsyncCodec } from "./async-codec.js";
import { liftCodec } from "./async-codec.js";
import type { Asset, Codec } from "./codec.js";
import { encodeEnvelope } from "./envelope-codec.js";
import { rawCodec } from "./raw.js";

/**
 * The write policy: candidates are tried in order, each with the smallest proven envelope so far
 * (less one byte) as its budget, and the smallest envelope that provably decodes back to the
 * input wins; on equal sizes the earlier candidate. `raw` is the last resort, so a choice always
 * exists. Outputs of pure synchronous codecs (which ignore budgets) are proven lazily: smallest
 * first, only when one of them could win or must set the budget of a codec that uses it.
 */

/** A pure codec the synchronous fast path may try, with the asset it would write with. */
export interface Candidate {
  codec: Codec;
  asset?: Asset;
}

/** A codec the policy loop may try, with the asset it would write with (none, for a codec that needs none). */
export interface CodecCandidate {
  codec: AsyncCodec;
  asset?: Asset;
}

export interface Choice {
  codec: Codec;
  asset: Asset | undefined;
  envelope: Uint8Array;
  /** Candidates that failed to encode, or whose smaller envelope did not decode back exactly, and were passed over. */
  verifyFailures: string[];
}

export interface PolicyChoice {
  codec: AsyncCodec;
  asset: Asset | undefined;
  envelope: Uint8Array;
  /** Candidates that failed to encode, or whose smaller envelope did not decode back exactly, and were passed over. */
  verifyFailures: string[];
  /** The smallest envelope each candidate of the loop finished, by codec name (one that gave up at its budget is absent). */
  finished?: Record<string, number>;
}

/** Decodes an envelope back to bytes (or throws); the policy uses it to prove each choice. */
export type EnvelopeDecoder = (envelope: Uint8Array) => Uint8Array;

/** What a failed attempt means: `fatal` rethrows it, `skip` passes the candidate over, `failure` also lists it in `verifyFailures`. */
export type AttemptFailure = "fatal" | "skip" | "failure";

export interface PolicyOptions {
  /** Inputs shorter than this many bytes are stored `raw` without trying the candidates. */
  rawBelow: number;
  /** Decodes an envelope (or throws): nothing wins before it decodes back to the exact input. */
  decode: (envelope: Uint8Array) => Promise<Uint8Array>;
  /** A choice already proven elsewhere (the classical worker-pool fast path): candidates must beat it. */
  start?: PolicyChoice;
  /** Runs one attempt (a deadline, counters); calls `encode` directly by default. */
  attempt?: (candidate: CodecCandidate, encode: (signal?: AbortSignal) => Promise<Uint8Array | null>) => Promise<Uint8Array | null>;
  /** Sorts a failed attempt (an encode that threw); every failure is a `failure` by default. */
  classify?: (error: unknown, candidate: CodecCandidate) => AttemptFailure;
}

const liftedRaw = liftCodec(rawCodec);

/** Runs the policy loop over `candidates` for `original`. */
export async function chooseSmallest(original: Uint8Array, candidates: readonly CodecCandidate[], options: PolicyOptions): Promise<PolicyChoice> {
  const contest = new Contest<CodecCandidate>(options.start && { candidate: options.start, envelope: options.start.envelope });
  if (options.start) contest.failures.push(...options.start.verifyFailures);
  const prove = (envelope: Uint8Array) => decodesTo(options.decode, envelope, original);
  const attempt = options.attempt ?? ((_, encode) => encode());
  const finished: Record<string, number> = {};
  for (const candidate of original.length < options.rawBelow ? [] : candidates) {
    // A codec that may use its budget gets a proven one.
    if (!candidate.codec.sync) await contest.settle(prove);
    const budget = contest.budgetFor(candidate.codec);
    let envelope: Uint8Array | null;
    try {
      envelope = await attempt(candidate, (signal) => candidate.codec.encode(original, { ...(candidate.asset ? { asset: candidate.asset } : {}), budget, ...(signal ? { signal } : {}) }));
    } catch (error) {
      const failure = options.classify?.(error, candidate) ?? "failure";
      if (failure === "fatal") throw error;
      if (failure === "failure") contest.failures.push(candidate.codec.name);
      continue;
    }
    if (!envelope) continue;
    finished[candidate.codec.name] = Math.min(finished[candidate.codec.name] ?? Infinity, envelope.length);
    contest.offer(candidate, envelope, candidate.codec.proven?.(envelope) === true);
  }
  await contest.settle(prove);
  if (!contest.best) {
    const envelope = (await liftedRaw.encode(original, { budget: Infinity })) as Uint8Array;
    contest.offer({ codec: liftedRaw }, envelope, false);
    await contest.settle(prove);
  }
  const best = contest.best;
  if (!best) throw new Error("unreachable: the raw envelope always decodes");
  return { codec: best.candidate.codec, asset: best.candidate.asset, envelope: best.envelope, verifyFailures: contest.failures, finished };
}

/**
 * The synchronous fast path of the same rule for pure codecs (worker threads run it): every
 * candidate, then `raw`, encoded; the smallest that decodes back to `original` wins. Below
 * `rawBelow` bytes only `raw` is tried.
 */
export function chooseSmallestVerified(original: Uint8Array, candidates: readonly Candidate[], decode: EnvelopeDecoder, rawBelow: number): Choice {
  const contest = new Contest<Candidate>();
  for (const candidate of [...(original.length < rawBelow ? [] : candidates), { codec: rawCodec }]) {
    try {
      const envelope = encodeEnvelope(candidate.codec, original, candidate.asset);
      if (envelope) contest.offer(candidate, envelope, false);
    } catch {
      // A codec that cannot encode (a broken asset, say) is passed over like one that cannot prove its output.
      contest.failures.push(candidate.codec.name);
    }
  }
  contest.settleNow((envelope) => {
    try {
      return Buffer.from(decode(envelope)).equals(original);
    } catch {
      return false;
    }
  });
  const best = contest.best;
  if (!best) throw new Error("unreachable: the raw envelope always decodes");
  return { codec: best.candidate.codec, asset: best.candidate.asset, envelope: best.envelope, verifyFailures: contest.failures };
}

interface Entry<C> {
  candidate: C;
  envelope: Uint8Array;
}

/** The rule both paths share: what may still win, in which order outputs are proven, and each codec's budget. */
class Contest<C extends { codec: { name: string; id: number; budgetSlack?: number } }> {
  readonly failures: string[] = [];
  /** Outputs not proven yet, each smaller than `best`, in the order they came. */
  private pending: (Entry<C> & { proven: boolean })[] = [];

  constructor(public best?: Entry<C>) {}

  budgetFor(codec: { id: number; budgetSlack?: number }): number {
    if (!this.best) return Infinity;
    const slack = this.best.candidate.codec.id === codec.id ? (codec.budgetSlack ?? 0) : 0;
    return slack > 0 ? this.best.envelope.length + slack : this.best.envelope.length - 1;
  }

  /** An output that can win only if it is smaller than the best proven one. `proven`: its codec decoded it already. */
  offer(candidate: C, envelope: Uint8Array, proven: boolean): void {
    if (this.best && envelope.length >= this.best.envelope.length) return;
    this.pending.push({ candidate, envelope, proven });
  }

  async settle(prove: (envelope: Uint8Array) => Promise<boolean>): Promise<void> {
    for (const entry of this.ordered()) {
      if (entry.proven || (await prove(entry.envelope))) return this.won(entry);
      this.failures.push(entry.candidate.codec.name);
    }
  }

  settleNow(prove: (envelope: Uint8Array) => boolean): void {
    for (const entry of this.ordered()) {
      if (entry.proven || prove(entry.envelope)) return this.won(entry);
      this.failures.push(entry.candidate.codec.name);
    }
  }

  /** Pending outputs smallest first, earlier first on equal sizes (the sort is stable); leaves none pending. */
  private ordered(): (Entry<C> & { proven: boolean })[] {
    const ordered = this.pending.sort((a, b) => a.envelope.length - b.envelope.length);
    this.pending = [];
    return ordered;
  }

  private won(entry: Entry<C>): void {
    this.best = { candidate: entry.candidate, envelope: entry.envelope };
  }
}

/** Whether `envelope` decodes to exactly `original` (any failure to decode: no). */
export async function decodesTo(decode: (envelope: Uint8Array) => Promise<Uint8Array>, envelope: Uint8Array, original: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(await decode(envelope)).equals(original);
  } catch {
    return false;
  }
}
