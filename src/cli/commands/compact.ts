import type { Command } from "../command.js";
import { STORE_OPTIONS } from "../command.js";
import { formatBytes } from "../progress.js";
import { emit, openEngine } from "../shared.js";

export const compactCommand: Command = {
  name: "compact",
  positionals: 0,
  summary: "delete expired memories, prune unused assets, seal new rows into blocks, vacuum the store file",
  usage: "memzip compact [--db DB] [--json]",
  help: `Deletes every memory whose expiry has passed (with its history; a text another memory reads is
handed over to it), then every asset no memory needs (also a dictionary or snapshot a namespace would write
with but that lost to another codec on every memory; a namespace's priming text stays while it is
the namespace's), packs the memories written since the last
seal into sealed blocks (256 rows, column-wise, zstd; every block decoded back and compared before
it is kept) and their search vectors likewise — a store's first seal waits for 128 memories, below
which the block tables would cost more pages than they save —, moves the write-ahead log into the file
and rebuilds the file without free pages. A store opened with sealing off (config "seal": false, MEMZIP_SEAL=false)
keeps its rows as they are. Needs free disk space about the file's size while it runs.
Beside the store (DB.derived/) it removes model states no asset of the store accounts for (a training
killed after writing its state, before saving its snapshot; kept for an hour, as a training may be
about to save it) and temporary files of killed writers.
With --json: {"removed": [{"id", "kind", "bytes"}], "expired" (memories deleted), "fileBytesBefore",
"fileBytesAfter", "derivedRemoved": {"files", "bytes"}}.`,
  options: STORE_OPTIONS,
  async run(context) {
    const engine = openEngine(context);
    try {
      const report = await engine.compact();
      emit(
        context,
        report,
        `expired memories deleted: ${report.expired}\n` +
          `${report.removed.map((a) => `removed ${a.kind} ${a.id.slice(0, 16)} (${formatBytes(a.bytes)})\n`).join("")}` +
          (report.derivedRemoved.files > 0 ? `removed ${report.derivedRemoved.files} leftover file(s) of killed processes from the folder beside the store (DB.derived/), ${formatBytes(report.derivedRemoved.bytes)}\n` : "") +
          `store file ${formatBytes(report.fileBytesBefore)} -> ${formatBytes(report.fileBytesAfter)}`,
      );
      return 0;
    } finally {
      await engine.close();
    }
  },
};
