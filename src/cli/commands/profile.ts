import { CONFIG_OPTION, HELP_OPTION, JSON_OPTION, type Command } from "../command.js";
import { resolveProfile, hardwareFromOs, type Profile } from "../../core/profiles.js";
import { choices, PROFILE_NAMES } from "../../core/vocabulary.js";
import { detectHardware } from "../../model/hardware.js";
import { formatBytes } from "../progress.js";
import { emit, settingsOf, usage } from "../shared.js";

export const profileCommand: Command = {
  name: "profile",
  positionals: 1,
  summary: "show the performance profile and why it chose its numbers",
  usage: `memzip profile show [--profile ${PROFILE_NAMES.join("|")}] [--no-gpu-probe] [--json]`,
  help: `Prints the settings a profile gives on this machine: batch size, concurrency, codec workers,
similarity threshold, cache bounds, llama contexts / threads / GPU layers / VRAM budget, item
timeout, retries and rate limit, with the reason for each. \`auto\` (the default) reads the hardware
through node-llama-cpp (GPU type, names and VRAM) and the OS (CPU cores, RAM).`,
  options: {
    profile: { type: "string", value: "P", help: `profile to show: ${choices(PROFILE_NAMES)}\n(default: config \`profile\`, $MEMZIP_PROFILE, or auto)` },
    "no-gpu-probe": { type: "boolean", help: "do not load node-llama-cpp to look for a GPU" },
    ...CONFIG_OPTION,
    ...JSON_OPTION,
    ...HELP_OPTION,
  },
  async run(context) {
    const action = context.positionals[0] ?? "show";
    if (action !== "show") throw usage(`unknown action "${action}"; try \`memzip profile show\``);
    const name = settingsOf(context).profile ?? "auto";
    const hardware = context.values["no-gpu-probe"] || name !== "auto" ? hardwareFromOs() : await detectHardware();
    const profile = resolveProfile(name, hardware);
    emit(context, { profile, hardware }, describe(profile, hardware));
    return 0;
  },
};

function describe(profile: Profile, hardware: ReturnType<typeof hardwareFromOs>): string {
  const gpu = hardware.gpu ? `${hardware.gpu} (${hardware.gpuNames.join(", ")}), ${formatBytes(hardware.vramFreeBytes)} of ${formatBytes(hardware.vramTotalBytes)} VRAM free` : hardware.gpuProbed ? "none usable" : "not probed";
  return [
    `profile ${profile.name}`,
    `hardware: ${hardware.cpuCores} CPU cores, ${formatBytes(hardware.ramBytes)} RAM, GPU ${gpu}`,
    `  batch size          ${profile.batchSize} memories per transaction`,
    `  concurrency         ${profile.concurrency} memories coded at once`,
    `  codec workers       ${profile.workers} threads`,
    `  similarity          group at cosine >= ${profile.similarityThreshold}`,
    `  cache               ${profile.cache.maxEntries} entries, ${formatBytes(profile.cache.maxBytes)}, TTL ${profile.cache.ttlMs / 60_000} min`,
    `  llama               ${profile.llm.contexts} contexts x ${profile.llm.threads} thread on ${profile.llm.workers ? `${profile.llm.workers} model threads` : "the main thread"}, GPU layers ${profile.llm.gpuLayers}, VRAM budget ${profile.llm.vramFraction}`,
    `  item timeout        ${profile.itemTimeoutMs ? `${profile.itemTimeoutMs} ms` : "none"}`,
    `  retries             ${profile.retries} (exponential backoff, full jitter)`,
    `  rate limit          ${profile.rateLimit.perSecond ? `${profile.rateLimit.perSecond}/s, burst ${profile.rateLimit.burst}` : "none"}`,
    "why:",
    ...profile.reasons.map((reason) => `  - ${reason}`),
  ].join("\n");
}
