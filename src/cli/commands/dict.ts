import type { Command } from "../command.js";
import { STORE_HELP, STORE_OPTIONS } from "../command.js";
import { formatBytes } from "../progress.js";
import { emit, openEngine, parseInteger, usage } from "../shared.js";

export const dictCommand: Command = {
  name: "dict",
  summary: "train or list zstd dictionaries (dict train | dict ls)",
  usage: "memzip dict train [--namespace NS] [--max-bytes N] [--no-recode] | memzip dict ls",
  help: `train: learns a dictionary from the namespace's memories (needs the zstd CLI), stores it as a
content-addressed asset, makes it the one new writes use, then recodes the namespace's memories
where that makes them smaller. Older payloads keep the dictionary they name.
  --max-bytes N      dictionary size limit (default 112640)
  --no-recode        only train; leave existing memories as they are
${STORE_HELP}`,
  options: { ...STORE_OPTIONS, "max-bytes": { type: "string" }, "no-recode": { type: "boolean" } },
  async run(context) {
    const action = context.positionals[0];
    const engine = openEngine(context);
    try {
      if (action === "ls") {
        const assets = engine.store.assetUsage().filter((a) => a.kind === "zstd-dictionary");
        emit(context, { dictionaries: assets }, assets.map((a) => `${a.id.slice(0, 16)}  ${formatBytes(a.size)}  used by ${a.memories}`).join("\n") || "no dictionaries");
        return 0;
      }
      if (action !== "train") throw usage("dict takes train or ls");
      const maxBytes = parseInteger(context.values["max-bytes"], "max-bytes", 256, 16 << 20);
      const trained = engine.trainDictionary(engine.options.namespace, maxBytes);
      const recode = context.values["no-recode"] ? undefined : engine.recode(engine.options.namespace);
      emit(
        context,
        { ...trained, recode },
        `trained ${trained.id.slice(0, 16)}: ${formatBytes(trained.bytes)} from ${trained.samples} memories` +
          (recode ? `; recoded ${recode.recoded} of ${recode.checked} (${formatBytes(recode.bytesBefore)} -> ${formatBytes(recode.bytesAfter)})` : ""),
      );
      return 0;
    } finally {
      engine.close();
    }
  },
};
