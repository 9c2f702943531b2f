import { createAssetCommand } from "./asset-command.js";

export const modelCommand = createAssetCommand({
  name: "model",
  kind: "cm-snapshot",
  noun: "context-model snapshot",
  nouns: "context-model snapshots",
  summary: "train or list the namespace's context model for the cm codec (model train | model ls)",
  maxBytesHelp: "most training text kept in the snapshot, newest memories first (default 4194304)",
  extraOptions: {
    "table-bits": {
      type: "string",
      value: "N",
      help: "log2 of the model's counter slots, 16–26; RAM is about 4·2^N bytes\n+ 2 × training text (default 23: ~45 MiB)",
    },
  },
});
