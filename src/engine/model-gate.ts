/**
 * The engine's record of how a model codec fares per namespace, and the sessions that decide from
 * it whether a memory is worth a model attempt (codec/skip-rule.ts has the rule).
 *
 * Keyed by namespace, the model codec's identity (its name and setup: model fingerprint and coding
 * options), the namespace's priming asset, and the text's class: mostly multi-byte (Chinese, say)
 * or not, by length (< 256, < 1 KiB, < 4 KiB, more). A model that loses on short Chinese notes is
 * still tried on long English ones. Kept in memory for the engine's life and saved beside a SQLite
 * store file (`<db>.derived/model-outcomes.json`, written atomically after an import or a recode
 * and when the engine closes), so a new process starts from what the last one learned. It is
 * advisory: a lost or stale file costs only the attempts needed to learn again, never bytes
 * already stored. A server store (postgres://) keeps it in memory only.
 */
import { createHash } from "node:crypto";
import type { Asset } from "../codec/codec.js";
import type { CodecCandidate } from "../codec/policy.js";
import type { DerivedStore } from "../codec/derived.js";
import { SKIP_DEFAULTS, SkipSession, applyOutcome, emptyRecord, type OutcomeRecord, type SkipSettings, type SkipTicket } from "../codec/skip-rule.js";
import type { Metrics } from "../pipeline/metrics.js";
import type { WriteChoice } from "./policy.js";

const FILE = "model-outcomes.json";
const VERSION = 1;

/** What `stats` shows per key of a namespace. */
export interface ModelOutcomes {
  namespace: string;
  codec: string;
  /** Text class: `mb` (mostly multi-byte) or `1b`, and the length class `<256`, `<1K`, `<4K`, `4K+`. */
  textClass: string;
  tries: number;
  wins: number;
  skipped: number;
  /** Attempts in a row that did not win; at `losses` or more the key is skipping (with retries). */
  streak: number;
}

export class ModelGate {
  private records: Map<string, OutcomeRecord> | undefined;
  private dirty = false;

  constructor(
    private readonly derived: DerivedStore | undefined,
    readonly enabled: boolean,
    readonly settings: SkipSettings = SKIP_DEFAULTS,
  ) {}

  /** The key of a memory's model attempt. */
  key(namespace: string, candidate: CodecCandidate, bytes: Uint8Array): string {
    const { codec, asset } = candidate;
    const setup = createHash("sha256").update(codec.setup ?? "").digest("hex").slice(0, 16);
    return [namespace, `${codec.name}#${setup}${asset ? `@${asset.id.slice(0, 16)}` : ""}`, textClass(bytes)].join("\u0000");
  }

  /** A run of decisions (an import, a recode) starting from the records as they are now. */
  session(): SkipSession {
    const records = this.load();
    const start = new Map(records);
    return new SkipSession(
      (key) => start.get(key) ?? emptyRecord(),
      this.settings,
      (key, outcome) => {
        records.set(key, applyOutcome(records.get(key) ?? emptyRecord(), outcome));
        this.dirty = true;
      },
    );
  }

  /** Writes the records beside the store when they changed (best effort, atomic). */
  save(): void {
    if (!this.dirty || !this.derived || !this.records) return;
    this.dirty = false;
    const body = { version: VERSION, records: Object.fromEntries(this.records) };
    this.derived.write(FILE, () => [Buffer.from(JSON.stringify(body))]);
  }

  /** The records of a namespace (or all), for stats. */
  outcomes(namespace?: string): ModelOutcomes[] {
    const list: ModelOutcomes[] = [];
    for (const [key, record] of this.load()) {
      const [ns, codec, cls] = key.split("\u0000") as [string, string, string];
      if (namespace !== undefined && ns !== namespace) continue;
      list.push({ namespace: ns, codec: codec.replace(/#.*/, ""), textClass: cls, tries: record.tries, wins: record.wins, skipped: record.skipped, streak: record.streak });
    }
    return list.sort((a, b) => (a.namespace + a.textClass < b.namespace + b.textClass ? -1 : 1));
  }

  private load(): Map<string, OutcomeRecord> {
    if (this.records) return this.records;
    this.records = new Map();
    const file = this.derived?.open(FILE);
    if (!file) return this.records;
    try {
      const bytes = Buffer.alloc(file.size);
      file.read(bytes, 0);
      const parsed = JSON.parse(bytes.toString("utf8")) as { version?: unknown; records?: unknown };
      if (parsed.version === VERSION && typeof parsed.records === "object" && parsed.records !== null) {
        for (const [key, value] of Object.entries(parsed.records)) if (isRecord(value)) this.records.set(key, value);
      }
    } catch {
      // Advisory data: an unreadable file is learned again.
    } finally {
      file.close();
    }
    return this.records;
  }
}

/** `mb` when at least a third of the bytes are parts of multi-byte characters, else `1b`; then the length class. */
export function textClass(bytes: Uint8Array): string {
  let high = 0;
  for (const byte of bytes) if (byte >= 0x80) high++;
  const script = high * 3 >= bytes.length ? "mb" : "1b";
  const length = bytes.length < 256 ? "<256" : bytes.length < 1024 ? "<1K" : bytes.length < 4096 ? "<4K" : "4K+";
  return `${script}${length}`;
}

function isRecord(value: unknown): value is OutcomeRecord {
  if (typeof value !== "object" || value === null) return false;
  const fields = ["streak", "level", "since", "tries", "wins", "skipped", "lostBytes"] as const;
  return fields.every((field) => Number.isSafeInteger((value as Record<string, unknown>)[field]) && ((value as Record<string, number>)[field] as number) >= 0);
}

/**
 * A memory's model attempts through the gate: all of them, or none when its key is skipping (counted
 * in `llmSkipped`). `settle` records the outcome from the policy's choice (a win when a model codec
 * won; a loss, with the bytes it lost by when it finished, otherwise).
 */
export async function gatedAttempts(
  gate: ModelGate,
  ticket: SkipTicket | undefined,
  namespace: string,
  models: readonly CodecCandidate[],
  prefix: Asset | undefined,
  bytes: Uint8Array,
  rawBelow: number,
  metrics: Metrics,
): Promise<{ models: readonly CodecCandidate[]; settle: (choice: WriteChoice) => void }> {
  const first = models[0];
  if (!ticket || !first || bytes.length < rawBelow) return { models, settle: () => undefined };
  if (!(await ticket.decide(gate.key(namespace, prefix ? { codec: first.codec, asset: prefix } : { codec: first.codec }, bytes)))) {
    metrics.add("llmSkipped");
    return { models: [], settle: () => undefined };
  }
  const names = new Set(models.map((m) => m.codec.name));
  return {
    models,
    settle: (choice) => {
      if (names.has(choice.codec)) return ticket.settle({ kind: "win" });
      const finished = [...names].map((name) => choice.finished?.[name] ?? Infinity);
      const lost = Math.min(...finished);
      ticket.settle(Number.isFinite(lost) ? { kind: "loss", lostBy: Math.max(0, lost - choice.envelope.length) } : { kind: "loss" });
    },
  };
}
