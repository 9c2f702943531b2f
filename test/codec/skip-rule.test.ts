import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SKIP_DEFAULTS, SkipSession, applyOutcome, emptyRecord, shouldTry, type Outcome, type SkipSettings } from "../../src/codec/skip-rule.js";

/** A fake expensive codec: whether it would win memory `i` (the rule never sees this, only outcomes). */
type Fate = (i: number) => boolean;

/**
 * Runs `n` memories of one key through a session, `concurrency` at a time, finishing the attempts in
 * the order `finishOrder` picks among those in flight (a stand-in for threads that finish when they
 * like). Returns the memories tried.
 */
async function run(n: number, fate: Fate, concurrency: number, finishOrder: (inFlight: number) => number, settings: SkipSettings = SKIP_DEFAULTS): Promise<number[]> {
  const session = new SkipSession(() => emptyRecord(), settings);
  const tried: number[] = [];
  const inFlight: (() => void)[] = [];
  let next = 0;
  const active = new Set<Promise<void>>();
  const start = (i: number) => {
    const ticket = session.ticket();
    const job = (async () => {
      if (await ticket.decide("k")) {
        tried.push(i);
        // The attempt finishes when the scheduler says so.
        await new Promise<void>((resolve) => inFlight.push(resolve));
        ticket.settle(fate(i) ? { kind: "win" } : { kind: "loss" });
      }
      ticket.release();
    })();
    active.add(job);
    void job.then(() => active.delete(job));
  };
  while (next < n || active.size > 0) {
    while (next < n && active.size < concurrency) start(next++);
    // Let every started memory reach its decision or its attempt.
    for (let spin = 0; spin < 50; spin++) await Promise.resolve();
    if (inFlight.length > 0) {
      const [finish] = inFlight.splice(finishOrder(inFlight.length) % inFlight.length, 1);
      finish?.();
    }
    for (let spin = 0; spin < 50; spin++) await Promise.resolve();
  }
  return tried.sort((a, b) => a - b);
}

/**
 * The rule applied one memory at a time, written out independently of the session: decision i sees
 * the outcomes of memories before i − lag, and of the memories after, only whether they were tried.
 */
function sequential(n: number, fate: Fate, settings: SkipSettings = SKIP_DEFAULTS): number[] {
  const outcomes: Outcome[] = [];
  const tried: number[] = [];
  for (let i = 0; i < n; i++) {
    let record = emptyRecord();
    const known = Math.max(0, i - settings.lag);
    for (let t = 0; t < known; t++) record = applyOutcome(record, outcomes[t] as Outcome);
    for (let t = known; t < i; t++) record = outcomes[t]?.kind === "skip" ? { ...record, since: record.since + 1 } : { ...record, since: 0 };
    const attempt = shouldTry(record, settings);
    if (attempt) tried.push(i);
    const retry = record.streak >= settings.losses;
    outcomes.push(attempt ? (fate(i) ? { kind: "win" } : { kind: "loss", retry }) : { kind: "skip" });
  }
  return tried;
}

describe("the skip rule", () => {
  it("skips after `losses` losses in a row, retries after 8, 16, 32 … skipped memories (capped), and a win resets it", () => {
    const settings = { ...SKIP_DEFAULTS, lag: 0 };
    let record = emptyRecord();
    const tried: number[] = [];
    for (let i = 0; i < 200; i++) {
      const attempt = shouldTry(record, settings);
      if (attempt) tried.push(i);
      record = applyOutcome(record, attempt ? { kind: "loss", lostBy: 10, retry: record.streak >= settings.losses } : { kind: "skip" });
    }
    // 4 losses, then a retry after 8 skips (at 12), after 16 (at 29), after 32 (at 62), after 64 (at 127).
    assert.deepEqual(tried, [0, 1, 2, 3, 12, 29, 62, 127]);
    assert.equal(record.tries, 8);
    assert.equal(record.skipped, 192);
    assert.equal(record.lostBytes, 80);
    // The gap stops growing at maxGap.
    const capped = { ...record, level: 20, since: SKIP_DEFAULTS.maxGap - 1 };
    assert.equal(shouldTry(capped, settings), false);
    assert.equal(shouldTry({ ...capped, since: SKIP_DEFAULTS.maxGap }, settings), true);
    // A retry that wins puts the key back to trying every memory.
    const won = applyOutcome({ ...record, since: 1000 }, { kind: "win" });
    assert.equal(won.streak, 0);
    assert.equal(won.level, 0);
    assert.equal(shouldTry(won, settings), true);
  });

  it("a codec that starts winning again is picked up at the next retry and tried on every memory after", async () => {
    // Loses the first 100 memories, wins every one after.
    const fate: Fate = (i) => i >= 100;
    const tried = await run(300, fate, 1, () => 0);
    assert.deepEqual(tried, sequential(300, fate));
    const firstAfter = tried.find((i) => i >= 100) as number;
    assert.ok(firstAfter - 100 <= SKIP_DEFAULTS.maxGap, `picked up at ${firstAfter}`);
    // From one lag after the first win on, every memory is tried.
    for (let i = firstAfter + SKIP_DEFAULTS.lag + 1; i < 300; i++) assert.ok(tried.includes(i), `memory ${i} tried`);
    // While it loses: the first losses and the attempts decided before they were known (the lag), then
    // retries at least `firstGap` memories apart (a pending retry is not repeated by the memories after it).
    const retries = tried.filter((i) => i >= SKIP_DEFAULTS.losses + SKIP_DEFAULTS.lag && i < 100);
    assert.ok(retries.length >= 2);
    for (let k = 1; k < retries.length; k++) assert.ok((retries[k] as number) - (retries[k - 1] as number) > SKIP_DEFAULTS.firstGap, retries.join(" "));
    assert.ok(tried.filter((i) => i < 100).length <= SKIP_DEFAULTS.losses + SKIP_DEFAULTS.lag + 6, `${tried.filter((i) => i < 100).length} tries while losing`);
  });

  it("decides the same whatever the concurrency and whichever attempt finishes first", async () => {
    const fates: Fate[] = [() => false, () => true, (i) => i % 7 === 0, (i) => i >= 60 && i < 90, (i) => (i * 2654435761) % 5 === 0];
    for (const fate of fates) {
      const expected = sequential(120, fate);
      for (const concurrency of [1, 4, 16]) {
        for (const order of [() => 0, (n: number) => n - 1, (n: number) => Math.floor(n / 2)]) {
          assert.deepEqual(await run(120, fate, concurrency, order), expected, `concurrency ${concurrency}`);
        }
      }
    }
  });

  it("a ticket released without a decision (a duplicate, an unchanged memory, an error) counts for nothing", async () => {
    const session = new SkipSession(() => ({ ...emptyRecord(), streak: SKIP_DEFAULTS.losses, since: SKIP_DEFAULTS.firstGap - 1 }), { ...SKIP_DEFAULTS, lag: 0 });
    const first = session.ticket();
    const second = session.ticket();
    const third = session.ticket();
    second.release();
    // The key is skipping with one memory to go before its retry.
    assert.equal(await first.decide("k"), false);
    first.release();
    assert.equal(await third.decide("k"), true);
  });
});
