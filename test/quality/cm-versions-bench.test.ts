import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeSnapshot, loadSnapshot } from "../../src/codec/cm/snapshot.js";
import { cmVersionsMarkdown } from "../../src/quality/bench-markdown.js";
import { runCmVersionsBench } from "../../src/quality/cm-versions-bench.js";
import { devCorpus } from "../helpers.js";

const encoder = new TextEncoder();
const texts = devCorpus().map((r) => encoder.encode(r.text));
const train = texts.slice(0, 60);
const held = texts.slice(60, 80);
const heldBytes = held.reduce((sum, bytes) => sum + bytes.length, 0);

test("runCmVersionsBench codes every record with each version, exactly (and again from the derived state), and counts whole envelopes and payloads apart", () => {
  const stages: string[] = [];
  const loadTrain = texts.slice(100, 220);
  const figures = runCmVersionsBench(train, held, { versions: [7, 8], passes: 2, loadTrain, onProgress: (stage) => stages.push(stage) });
  assert.deepEqual(
    figures.map((f) => f.version),
    [7, 8],
  );
  for (const f of figures) {
    assert.equal(f.records, held.length);
    assert.equal(f.originalBytes, heldBytes);
    assert.equal(f.exact, held.length, `version ${f.version} decoded every record back`);
    assert.equal(f.exactFromState, held.length, `version ${f.version}'s model from its derived state decoded every record back`);
    assert.equal(f.declined, 0);
    // The payloads are what the version's model writes for each record alone from the same snapshot.
    const { model } = loadSnapshot(encodeSnapshot(train, { version: f.version }));
    const payloadBytes = held.reduce((sum, bytes) => sum + model.encodeRecordBytes(bytes).length, 0);
    assert.equal(f.payloadBitsPerByte, (payloadBytes * 8) / heldBytes);
    // Each envelope adds at least magic, codec, a length byte, the 4-byte checksum and the asset hint.
    assert.ok(f.bitsPerByte >= f.payloadBitsPerByte + (8 * 8 * held.length) / heldBytes, `${f.bitsPerByte} vs ${f.payloadBitsPerByte}`);
    assert.ok(f.snapshotBytes > 0 && f.stateBytes > f.snapshotBytes, `snapshot ${f.snapshotBytes}, state ${f.stateBytes}`);
    for (const speed of [f.encodeMBps, f.decodeMBps, f.encodeMBpsCpu, f.decodeMBpsCpu, f.stateLoadCpuMs, f.stateLoadMs]) assert.ok(Number.isFinite(speed) && speed > 0, String(speed));
    // The larger snapshot's loads: its training text counted, its model's memory and state measured, loads timed.
    const large = f.largeLoad;
    assert.ok(large, `version ${f.version} measured the larger snapshot's loads`);
    assert.equal(large.trainBytes, loadTrain.reduce((sum, bytes) => sum + bytes.length, 0));
    assert.ok(large.memoryBytes > large.stateBytes && large.stateBytes > large.trainBytes, `memory ${large.memoryBytes}, state ${large.stateBytes}, text ${large.trainBytes}`);
    assert.ok(Number.isFinite(large.loadMs) && large.loadMs > 0 && Number.isFinite(large.loadCpuMs) && large.loadCpuMs > 0);
  }
  assert.notEqual(figures[0]?.payloadBitsPerByte, figures[1]?.payloadBitsPerByte, "two different models");
  // Each version's passes back to back, in two rounds: the versions in order, then reversed; the loads after.
  assert.deepEqual(
    stages.filter((s) => s.includes("pass")),
    [
      "cm model version 7: round 1, pass 1 of 2",
      "cm model version 7: round 1, pass 2 of 2",
      "cm model version 8: round 1, pass 1 of 2",
      "cm model version 8: round 1, pass 2 of 2",
      "cm model version 8: round 2, pass 1 of 2",
      "cm model version 8: round 2, pass 2 of 2",
      "cm model version 7: round 2, pass 1 of 2",
      "cm model version 7: round 2, pass 2 of 2",
    ],
  );
  assert.equal(stages.filter((s) => s.includes("loading its derived state")).length, 4);
  assert.equal(stages.filter((s) => s.includes("snapshot's derived state")).length, 4);

  const markdown = cmVersionsMarkdown(figures, "Versions", "npm run bench", "20 records", 2);
  const rows = markdown.split("\n").filter((line) => /^\| [78] \|/.test(line));
  assert.equal(rows.length, 2);
  assert.match(rows[1] as string, new RegExp(`^\\| 8 \\| ${(figures[1]?.bitsPerByte ?? 0).toFixed(3)} \\| ${(figures[1]?.payloadBitsPerByte ?? 0).toFixed(3)} \\| 20/20 / 20/20 \\|`));
  assert.match(markdown, /\| issue 16's target \| ≤ 2\.000 \|.*\| ≤ 300 \(4 MiB\) \|$/m);
  const large = figures[1]?.largeLoad;
  assert.ok((rows[1] as string).endsWith(`| ${Math.round(large?.loadMs ?? 0)} (${Math.round(large?.loadCpuMs ?? 0)}) |`), rows[1]);
  assert.match(markdown, new RegExp(`load ms \\(CPU\\) at ${((large?.trainBytes ?? 0) / (1 << 20)).toFixed(1)} MiB of training text \\|`));
});
