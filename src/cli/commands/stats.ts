import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import type { StoreStats } from "../../engine-stats.js";
import { formatBytes } from "../progress.js";
import { bpb, emit, openEngine } from "../shared.js";

export const statsCommand: Command = {
  name: "stats",
  summary: "sizes, bits per byte and codec wins",
  usage: "memzip stats [--db DB] [--namespace NS] [--json]",
  help: `--json prints {"memories", "originalBytes", "storedBytes", "bitsPerByte", "assetBytes",
"bitsPerByteWithAssets", "ratio", "ratioWithAssets", "unusedAssetBytes", "byCodec": {CODEC: {"memories", "originalBytes", "storedBytes",
"bitsPerByte"}}, "assets": [...], "derivedBytes"}. storedBytes are whole envelopes; dictionary and snapshot bytes
are reported apart and, in bitsPerByteWithAssets, counted in. derivedBytes is the model state cached
beside the store (DB.derived/, whole store): rebuilt from the snapshots when missing, never counted.
${STORE_HELP}`,
  options: STORE_OPTIONS,
  async run(context) {
    const engine = openEngine(context);
    try {
      const namespace = typeof context.values.namespace === "string" ? context.values.namespace : undefined;
      const stats = engine.stats(namespace);
      emit(context, stats, describe(stats));
      return 0;
    } finally {
      await engine.close();
    }
  },
};

export function describe(stats: StoreStats & { derivedBytes?: number }): string {
  const lines = [
    `${stats.memories} memories, ${formatBytes(stats.originalBytes)} -> ${formatBytes(stats.storedBytes + stats.assetBytes)} ` +
      `(ratio ${stats.ratioWithAssets.toFixed(2)}x, ${bpb(stats.bitsPerByteWithAssets)} bits/byte, everything needed to rebuild them)`,
    `  envelopes ${formatBytes(stats.storedBytes)} (${bpb(stats.bitsPerByte)} bits/byte) + assets ${formatBytes(stats.assetBytes)}` +
      (stats.unusedAssetBytes ? `; unused assets ${formatBytes(stats.unusedAssetBytes)}` : "") +
      (stats.derivedBytes ? `; derived model state ${formatBytes(stats.derivedBytes)} (a rebuildable cache, not counted)` : ""),
    "codec        memories   original     stored  bits/byte",
  ];
  for (const [codec, s] of Object.entries(stats.byCodec)) {
    lines.push(`${codec.padEnd(12)} ${String(s.memories).padStart(8)} ${formatBytes(s.originalBytes).padStart(10)} ${formatBytes(s.storedBytes).padStart(10)} ${bpb(s.bitsPerByte).padStart(10)}`);
  }
  return lines.join("\n");
}
