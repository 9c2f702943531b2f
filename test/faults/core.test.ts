import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { FAMILIES, KNOWN_FAILING } from "./families.js";
import { Oracle } from "./oracle.js";
import { classifyExit } from "./proc.js";
import { countsTable, runSuite } from "./suite.js";

/** The bounded core of the fault suite (the full one: `npm run test:faults`). Fixed seed, every family at least once. */
const CORE_SEED = 20261129;
const CORE_CASES = FAMILIES.length + 5;

describe("fault suite: the oracle and the exit classifier can fail", () => {
  it("flags a wrong text, a lost write, a resurrected delete, and accepts a write in doubt either way", () => {
    const oracle = new Oracle();
    oracle.acked("a", "alpha");
    oracle.acked("b", "beta");
    oracle.acked("c", "gamma");
    oracle.ackedDelete("c");
    oracle.pending("d", "delta");
    const seen = { texts: new Map([["a", "beta"], ["c", "gamma"], ["x", "unknown"]]), unreadable: new Set<string>() };
    const verdict = oracle.check(seen, true);
    assert.equal(verdict.wrong.length, 2, verdict.wrong.join("; "));
    assert.ok(verdict.lost.some((l) => l.startsWith("b:")) && verdict.lost.some((l) => l.startsWith("c:")), verdict.lost.join("; "));
    assert.deepEqual(oracle.check({ texts: new Map([["a", "alpha"], ["b", "beta"], ["d", "delta"]]), unreadable: new Set() }, true), { wrong: [], lost: [], renamed: [] });
    assert.deepEqual(oracle.check({ texts: new Map([["a", "alpha"], ["b", "beta"]]), unreadable: new Set() }, true), { wrong: [], lost: [], renamed: [] });
    assert.deepEqual(oracle.check({ texts: new Map([["zz", "alpha"]]), unreadable: new Set() }, false), { wrong: [], lost: [], renamed: ["zz"] });
  });

  it("calls exit 70, a stack trace, a signal and a code that does not match its error a crash", async () => {
    const base = { args: ["get", "x"], stdout: Buffer.alloc(0), killedByHarness: false, signal: null };
    assert.equal((await classifyExit({ ...base, status: 4, stderr: "memzip: E_NOT_FOUND: no memory\n" })).kind, "typed");
    assert.equal((await classifyExit({ ...base, status: 5, stderr: "memzip: E_NOT_FOUND: no memory\n" })).kind, "crash");
    assert.equal((await classifyExit({ ...base, status: 70, stderr: "memzip: internal error: boom\n" })).kind, "crash");
    assert.equal((await classifyExit({ ...base, status: 8, stderr: "memzip: E_STORE: x\nError: y\n    at f (file.js:1:2)\n" })).kind, "crash");
    assert.equal((await classifyExit({ ...base, status: null, signal: "SIGSEGV", stderr: "" })).kind, "crash");
    assert.equal((await classifyExit({ ...base, status: null, signal: "SIGKILL", stderr: "", killedByHarness: true })).kind, "killed");
  });
});

describe("fault suite: bounded core", () => {
  it(`runs ${CORE_CASES} seeded cases over every family: no wrong text, no lost acknowledged write, no crash outside the known-failing families`, async () => {
    const result = await runSuite({ seed: CORE_SEED, cases: CORE_CASES, families: FAMILIES, coverAll: true, jobs: 2 });
    const table = countsTable(result, FAMILIES, KNOWN_FAILING);
    assert.deepEqual(new Set(result.cases.map((c) => c.family)), new Set(FAMILIES.map((f) => f.name)), "every family ran");
    const bad = result.cases.filter((c) => !KNOWN_FAILING.has(c.family) && (c.outcome === "wrong" || c.outcome === "lost" || c.outcome === "crash"));
    const detail = bad.map((c) => `#${c.index} ${c.family} seed=${c.seed} ${c.outcome}: ${c.notes.find((n) => n.outcome === c.outcome)?.detail ?? ""}`).join("\n");
    assert.equal(bad.length, 0, `${detail}\n\n${table}`);
  });
});
