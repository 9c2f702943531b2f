import { dirname, join } from "node:path";
import type { Command } from "../command.js";
import { STORE_OPTIONS } from "../command.js";
import { defaultDbPath } from "../../core/paths.js";
import { MODEL_PRESETS, isModelPreset, pullPreset } from "../../model/registry.js";
import { isLocalStoreFile } from "../../store/open.js";
import { ProgressBar, formatBytes } from "../progress.js";
import { emit, inputFileSize, openEngine, readInputText, requirePositional, storePath, usage } from "../shared.js";

/** What `rm` takes, as its missing-argument error names it. */
const MODEL_ARGUMENT = "NAME (or fingerprint) of a registered model";

export const modelsCommand: Command = {
  name: "models",
  summary: "register, list, remove or download GGUF models for the llm codec (models add | ls | rm | pull | prime)",
  usage: "memzip models add PATH [--name N] | ls | rm NAME [--force] | pull PRESET [--dir DIR] | prime FILE [-n NS]",
  help: `A model is known by the sha256 of its file (its fingerprint, which every llm payload records) and
by a name. \`add\` reads the GGUF header and hashes the file; moving the file later only needs
another \`add\` with the new path. \`rm NAME\` forgets a model (its file stays); it refuses while
memories are coded with it, naming them by namespace: recode them first, or --force (they then cannot
be read until the same file is added again). \`pull\` downloads a preset where a network reaches Hugging Face.
\`prime FILE\` stores a text (once, as an asset) that conditions the model before every llm memory
of the namespace written from now on: typical vocabulary, a style sample, a glossary.
Presets: ${Object.entries(MODEL_PRESETS)
    .map(([name, p]) => `\n  ${name.padEnd(20)} ${p.use}`)
    .join("")}`,
  options: {
    name: { type: "string", value: "N", help: "name to register the model under (default: the file name)" },
    dir: { type: "string", value: "DIR", help: "where `pull` saves files (default: a models folder beside the store)" },
    force: { type: "boolean", help: "remove the model even though memories are coded with it (rm)" },
    namespace: { type: "string", short: "n", value: "NS", help: 'namespace `prime` conditions (default: "default")' },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const action = requirePositional(context, 0, "action (add, ls, rm, pull or prime)");
    // A file named on the command line is checked before the store opens: E_NOT_FOUND naming it.
    if (action === "add") inputFileSize(requirePositional(context, 1, "PATH of a GGUF file"), "PATH");
    if (action === "prime" && context.positionals[1] !== "-") inputFileSize(requirePositional(context, 1, "FILE with the priming text (- for stdin)"), "FILE");
    if (action === "rm") requirePositional(context, 1, MODEL_ARGUMENT);
    if (!["ls", "add", "rm", "pull", "prime"].includes(action)) throw usage(`unknown action "${action}"; use add, ls, rm, pull or prime`);
    // ls reads; rm of a store that does not exist is E_NOT_FOUND, not a new empty store; the others may create it.
    const engine = openEngine(context, {}, action === "ls" ? { readOnly: true } : action === "rm" ? {} : { create: true });
    try {
      if (action === "ls") {
        const models = await engine.models();
        const lines = models.map((m) => `${m.name}\t${m.fingerprint.slice(0, 16)}\t${m.architecture}\t${m.vocabularySize}\t${m.contextLength}\t${formatBytes(m.size)}\t${m.path}`);
        emit(context, { models }, lines.length ? `name\tfingerprint\tarch\tvocab\tcontext\tsize\tpath\n${lines.join("\n")}` : "no models (add one with `memzip models add PATH`)");
        return 0;
      }
      if (action === "add") {
        const path = requirePositional(context, 1, "PATH of a GGUF file");
        const name = typeof context.values.name === "string" ? context.values.name : undefined;
        const model = await engine.addModel(path, name);
        emit(context, model, `${model.name}  ${model.fingerprint.slice(0, 16)}  ${model.architecture}, vocabulary ${model.vocabularySize}, context ${model.contextLength}, ${formatBytes(model.size)}`);
        return 0;
      }
      if (action === "rm") {
        const removed = await engine.removeModel(requirePositional(context, 1, MODEL_ARGUMENT), { force: context.values.force === true });
        const needing = removed.needing.reduce((sum, c) => sum + c.memories, 0);
        emit(
          context,
          removed,
          `removed ${removed.model.name}  ${removed.model.fingerprint.slice(0, 16)} (the file stays at ${removed.model.path})` +
            (needing ? `\n${needing} memories coded with it cannot be read until it is added again (\`memzip models add ${removed.model.path}\`)` : "") +
            (removed.unchecked ? `\n${removed.unchecked} memories could not be checked (a damaged part of the store; \`memzip verify\` names them)` : ""),
        );
        return 0;
      }
      if (action === "prime") {
        const file = requirePositional(context, 1, "FILE with the priming text (- for stdin)");
        const asset = await engine.setPrimingText(readInputText(context, file, "FILE"));
        emit(context, { id: asset.id, bytes: asset.bytes.length, namespace: asset.namespace }, `namespace ${asset.namespace}: llm memories are now primed with ${formatBytes(asset.bytes.length)} (${asset.id.slice(0, 12)})`);
        return 0;
      }
      if (action === "pull") {
        const preset = requirePositional(context, 1, "PRESET");
        if (!isModelPreset(preset)) throw usage(`unknown preset "${preset}"; choose one of ${Object.keys(MODEL_PRESETS).join(", ")}`);
        const storeFile = storePath(context);
        const directory = typeof context.values.dir === "string" ? context.values.dir : join(dirname(isLocalStoreFile(storeFile) ? storeFile : defaultDbPath()), "models");
        const bar = new ProgressBar(context.stderr, "download", !context.json);
        const path = await pullPreset(preset, directory, (done, total) => bar.update(done, done, total));
        bar.done();
        const model = await engine.addModel(path, preset);
        emit(context, model, `${model.name}  ${model.fingerprint.slice(0, 16)}  saved to ${path}`);
        return 0;
      }
      throw usage(`unknown action "${action}"; use add, ls, rm, pull or prime`);
    } finally {
      await engine.close();
    }
  },
};
