import { createAssetCommand } from "./asset-command.js";

export const dictCommand = createAssetCommand({
  name: "dict",
  kind: "zstd-dictionary",
  noun: "zstd dictionary",
  nouns: "zstd dictionaries",
  summary: "train or list zstd dictionaries (dict train | dict ls)",
  maxBytesHelp: "dictionary size limit (default 112640); training needs the zstd CLI",
});
