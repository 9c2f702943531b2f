import type { Command } from "../command.js";
import { CODING_OPTIONS, STORE_OPTIONS, type OptionDefs } from "../command.js";
import type { TrainableAssetKind } from "../../model/asset-trainers.js";
import type { TrainedAsset } from "../../engine.js";
import { formatBytes } from "../progress.js";
import { emit, openEngine, parseInteger, refuseFlags, usage } from "../shared.js";
import { signalName, stoppable } from "../stop-signals.js";

interface AssetCommandSpec {
  name: string;
  kind: TrainableAssetKind;
  /** What the asset is, for help and output ("zstd dictionary"), and more than one ("zstd dictionaries"). */
  noun: string;
  nouns: string;
  summary: string;
  maxBytesHelp: string;
  /** Flags only this asset kind takes. */
  extraOptions?: OptionDefs;
}

/** `memzip dict` and `memzip model`: train an asset on a namespace, or list the assets of a kind. */
export function createAssetCommand(spec: AssetCommandSpec): Command {
  const trainOptions: OptionDefs = {
    "max-bytes": { type: "string", value: "N", help: `${spec.maxBytesHelp} (train)` },
    "no-recode": { type: "boolean", help: "only train; leave existing memories as they are (train)" },
    force: { type: "boolean", help: "use the new one even where it measures larger than what the namespace writes with (train)" },
    ...spec.extraOptions,
    namespace: { type: "string", short: "n", value: "NS", help: 'namespace `train` learns from and recodes (default: "default");\n`ls` and `prune` cover every namespace and take no -n' },
    ...CODING_OPTIONS,
  };
  return {
    name: spec.name,
    summary: spec.summary,
    usage: `memzip ${spec.name} train [-n NS] [--max-bytes N] [--no-recode] [--force]${Object.keys(spec.extraOptions ?? {}).map((flag) => ` [--${flag} N]`).join("")} | memzip ${spec.name} ls | memzip ${spec.name} prune`,
    help: `train: builds a ${spec.noun} from the namespace's memories, stores it as a content-addressed
asset, makes it the one new writes use, then recodes the namespace where that makes memories
smaller. Older payloads keep naming the asset they were written with. The new one is first
measured on memories sampled across the namespace (asset bytes + envelopes) against what
the namespace writes with now (its active ${spec.noun}, or none: cm with the shipped base
model, zstd without a dictionary) and used unless the namespace would grow by more than
2 %; otherwise it is removed and nothing changes (--force uses it anyway).
ls: lists ${spec.nouns} with their size and how many memories use each.
prune: deletes ${spec.nouns} that no memory needs and no namespace writes with.
An import trains a namespace's ${spec.noun} once it holds 200 memories, and again each time it
has doubled since the last training (measured the same way). Ctrl-C or SIGTERM stops a training (nothing is saved, no
temporary file stays) or the recode after it (exit 130 / 143).`,
    options: {
      ...trainOptions,
      ...STORE_OPTIONS,
    },
    async run(context) {
      const action = context.positionals[0];
      // ls and prune cover every namespace and train nothing: train's flags are refused there, not ignored.
      if (action === "ls" || action === "prune") refuseFlags(context, `${spec.name} ${action}`, Object.keys(trainOptions), `${spec.name} train`);
      const engine = openEngine(context, {}, { readOnly: action === "ls" });
      try {
        if (action === "ls") {
          const assets = (await engine.assetUsage()).filter((a) => a.kind === spec.kind);
          emit(context, { assets }, assets.map((a) => `${a.id.slice(0, 16)}  ${formatBytes(a.size)}  used by ${a.memories}`).join("\n") || `no ${spec.nouns}`);
          return 0;
        }
        if (action === "prune") {
          const removed = await engine.pruneAssets({ kind: spec.kind });
          emit(context, { removed }, removed.map((a) => `removed ${a.id.slice(0, 16)} (${formatBytes(a.bytes)})`).join("\n") || "nothing to prune");
          return 0;
        }
        if (action !== "train") throw usage(`${spec.name} takes train, ls or prune`);
        const maxBytes = parseInteger(context.values["max-bytes"], "max-bytes", 256, 1 << 30);
        const tableBits = parseInteger(context.values["table-bits"], "table-bits", 16, 26);
        // Ctrl-C or SIGTERM stops the training (its thread or zstd, and their temporary files) or the recode after it.
        let saved: TrainedAsset | undefined;
        const { trained, recode } = await stoppable(
          async (signal) => {
            const trained = await engine.trainAsset(
              spec.kind,
              engine.options.namespace,
              { ...(maxBytes === undefined ? {} : { maxBytes }), ...(tableBits === undefined ? {} : { tableBits }), ...(context.values.force ? { force: true } : {}) },
              signal,
            );
            saved = trained;
            const recodes = trained.activated && !context.values["no-recode"];
            return { trained, recode: recodes ? await engine.recode(engine.options.namespace, { signal }) : undefined };
          },
          (signal) => context.stderr.write(`memzip: stopping (what is saved stays); ${signalName(signal)} again stops at once\n`),
          () =>
            saved
              ? { message: `stopped after the training: ${spec.noun} ${saved.id.slice(0, 16)} is saved and new writes use it; the recode did not finish`, hint: "Run `memzip recode` to rewrite the memories it makes smaller (before `memzip compact`, which removes an asset no memory uses yet)." }
              : { message: `${spec.name} train stopped; nothing was trained`, hint: `Run \`memzip ${spec.name} train\` again.` },
        );
        // The superseded asset of this kind, once the recode left it unused, goes now.
        if (recode) await engine.pruneAssets({ namespace: engine.options.namespace, kind: spec.kind });
        const made = `${formatBytes(trained.bytes)} from ${trained.samples} memories in ${(trained.trainMs / 1000).toFixed(1)}s`;
        const against = (activeId: string | undefined) => (activeId ? `with ${activeId.slice(0, 16)}` : spec.kind === "cm-snapshot" ? "without one (cm with the shipped base model, if on)" : "without one");
        const measured = trained.comparison
          ? ` (measured on ${trained.comparison.memories} memories: the namespace would store ~${formatBytes(trained.comparison.trainedBytes)} with it against ~${formatBytes(trained.comparison.activeBytes)} ${against(trained.comparison.activeId)})`
          : "";
        emit(
          context,
          { ...trained, recode },
          trained.activated
            ? `trained ${spec.noun} ${trained.id.slice(0, 16)}: ${made}${measured}` +
                (recode ? `; recoded ${recode.recoded} of ${recode.checked} (envelopes ${formatBytes(recode.bytesBefore)} -> ${formatBytes(recode.bytesAfter)}, and the ${spec.noun} itself ${formatBytes(trained.bytes)})` : "")
            : `${trained.comparison?.activeId ? `kept the active ${spec.noun}` : `left the namespace without a ${spec.noun}`}: the new one (${made}) would make the namespace larger${measured}; it was removed and nothing was recoded. Pass --force to use it anyway.`,
        );
        return 0;
      } finally {
        await engine.close();
      }
    },
  };
}
