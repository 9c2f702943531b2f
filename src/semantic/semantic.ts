import { parseSummaryAnswerLoose, rebuildMessages, summaryMessages, summarySchema, type SemanticRecord } from "./summary.js";
import { BACKEND_KINDS, isOneOf, type BackendKind } from "../core/vocabulary.js";
import { MemzipError, ErrorCode, isMemzipError } from "../errors.js";
import type { TextBackend } from "../model/backend.js";
import { costReport, type CostReport, type Price, type UsageLine } from "../model/costs.js";
import { checkBackendUrl } from "../model/egress.js";
import { extractInParts, type Entity, type EntityExtractor } from "./entities.js";
import { entityExtractor as rulesNlpExtractor } from "./entities-nlp.js";
import { defaultEntityExtractor } from "./entities-tagger.js";
import { LlamaBackend } from "../model/llama-backend.js";
import { OllamaBackend, OpenAiBackend } from "../model/remote-backends.js";
import { ModelRouter, type RouterOptions } from "../model/router.js";

export interface BackendConfig {
  name: string;
  kind: BackendKind;
  /** Server URL (ollama, openai). */
  url?: string;
  /** Model name on the server; for llama, the GGUF path is `path`. */
  model?: string;
  path?: string;
  embedModel?: string;
  /**
   * Environment variable with the API key (openai). Without it no key is sent (no implicit
   * OPENAI_API_KEY); a key is only sent to https:// URLs or servers on this machine.
   */
  apiKeyEnv?: string;
  /** Allow a link-local or cloud-metadata host (169.254.0.0/16, fe80::/10, metadata.google.internal...). Defaults to false. */
  allowLinkLocal?: boolean;
  timeoutMs?: number;
  retries?: number;
  stream?: boolean;
  /** Count it as running on this machine (costs per hour) rather than per token. */
  local?: boolean;
  /** Ollama endpoint for generation: `chat` (default) or `generate`. */
  endpoint?: "chat" | "generate";
}

export interface SemanticOptions {
  backends: BackendConfig[];
  order?: RouterOptions["order"];
  routes?: RouterOptions["routes"];
  /** Longest summary, in characters. Defaults to 280. */
  summaryChars?: number;
  /** System prompt for summaries; `{maxChars}` is replaced. */
  prompt?: string;
  /** Most tokens a summary answer may take. Defaults to 256. */
  maxTokens?: number;
  /**
   * Further calls when a model's answer is not JSON even after repair (code fences, single
   * quotes, trailing commas and cut-off objects are repaired without a call). Defaults to 1; at most 3.
   */
  jsonRetries?: number;
  /** Prices per backend or `backend/model` for the cost report. */
  prices?: Record<string, Price>;
  /**
   * Code the exact text with the `llm` codec conditioned on its summary (the summary is fed to the
   * model before the text), when a model is configured and the memory got a summary. `true` also
   * codes it without and keeps the smaller envelope; `"always"` keeps the conditioned one. The
   * summary then becomes an asset the envelope needs, counted in the store's sizes. Defaults to `false`.
   */
  residual?: boolean | "always";
}

export type SemanticStatus = "on" | "off" | "skipped";


/** Checks semantic settings from a config file or a library caller; every error names the setting. */
export function validateSemanticOptions(value: unknown, where = "semantic"): SemanticOptions {
  const fail = (message: string): never => {
    throw new MemzipError(ErrorCode.USAGE, `${where}: ${message}`, { hint: "See README, Semantic memory, for the settings." });
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("must be an object with a backends list");
  const options = value as Record<string, unknown>;
  if (!Array.isArray(options.backends) || options.backends.length === 0) return fail("backends must list at least one backend");
  for (const [i, backend] of (options.backends as unknown[]).entries()) {
    const b = backend as Partial<BackendConfig> | null;
    if (typeof b !== "object" || b === null) return fail(`backends[${i}] must be an object`);
    if (typeof b.name !== "string" || b.name === "") fail(`backends[${i}].name must be a non-empty string`);
    if (!isOneOf(BACKEND_KINDS, b.kind)) fail(`backends[${i}].kind must be one of ${BACKEND_KINDS.join(", ")}`);
    if (b.kind === "llama" ? typeof b.path !== "string" : typeof b.url !== "string" || !/^https?:\/\//.test(b.url)) {
      fail(b.kind === "llama" ? `backends[${i}].path must be a GGUF path` : `backends[${i}].url must be an http(s) URL`);
    }
    if (b.kind !== "llama" && (typeof b.model !== "string" || b.model === "")) fail(`backends[${i}].model must name the server's model`);
    if (b.kind !== "llama" && b.allowLinkLocal !== true) checkBackendUrl(b.url as string, { name: b.name as string });
    if (b.apiKeyEnv !== undefined && (typeof b.apiKeyEnv !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(b.apiKeyEnv))) fail(`backends[${i}].apiKeyEnv must name an environment variable`);
    if (b.allowLinkLocal !== undefined && typeof b.allowLinkLocal !== "boolean") fail(`backends[${i}].allowLinkLocal must be true or false`);
    for (const key of ["timeoutMs", "retries"] as const) {
      if (b[key] !== undefined && !(Number.isInteger(b[key]) && (b[key] as number) >= 0)) fail(`backends[${i}].${key} must be a whole number`);
    }
  }
  if (options.jsonRetries !== undefined && !(Number.isInteger(options.jsonRetries) && (options.jsonRetries as number) >= 0 && (options.jsonRetries as number) <= 3)) fail("jsonRetries must be a whole number from 0 to 3");
  if (options.summaryChars !== undefined && !(Number.isInteger(options.summaryChars) && (options.summaryChars as number) >= 16)) fail("summaryChars must be a whole number of at least 16");
  if (options.residual !== undefined && typeof options.residual !== "boolean" && options.residual !== "always") fail('residual must be true, false or "always"');
  return options as unknown as SemanticOptions;
}

/**
 * Summaries and entities for memories through the router (local first, cloud as fallback, or as
 * the profile says). The exact text is stored whatever happens here: when every backend is down,
 * a memory's semantic features are skipped and counted, never its text.
 */
export class SemanticLayer {
  skipped = 0;
  described = 0;
  /** Answers that were not valid JSON: repaired without a call, asked again, or given up on (the memory is then skipped). */
  readonly json = { repaired: 0, retries: 0, failed: 0 };
  /**
   * Texts whose entities the default extractor (the trained tagger over rules+nlp) failed on — a
   * missing or broken assets/entity-tagger.json — and that took the rules+nlp entities instead;
   * `entityError` is the last such failure's message. The write goes on either way.
   */
  entityFallbacks = 0;
  entityError: string | undefined;

  private constructor(
    readonly router: ModelRouter,
    private readonly options: SemanticOptions,
    private readonly entities: EntityExtractor,
  ) {}

  /** `entities`: the extractor whose entities join the model's (default: `defaultEntityExtractor`). */
  static async create(options: SemanticOptions, retry: { retries: number; rateLimit: { perSecond: number; burst: number } }, entities: EntityExtractor = defaultEntityExtractor): Promise<SemanticLayer> {
    const backends: TextBackend[] = [];
    for (const config of options.backends) backends.push(await createBackend(config, retry));
    return new SemanticLayer(new ModelRouter(backends, { ...(options.order ? { order: options.order } : {}), ...(options.routes ? { routes: options.routes } : {}) }), options, entities);
  }

  /** The text's entities from the extractor, else (it threw) from the rules+nlp extractor, counted. */
  private async entitiesOf(text: string): Promise<Entity[]> {
    try {
      return await extractInParts(this.entities, text);
    } catch (error) {
      this.entityFallbacks++;
      this.entityError = error instanceof Error ? error.message : String(error);
      // Said once per layer (a broken asset would otherwise warn on every write); counted every time.
      if (this.entityFallbacks === 1) process.emitWarning(`entity extraction failed (${this.entityError}); using the rules+nlp entities`, { code: "MEMZIP_ENTITY_FALLBACK" });
      return extractInParts(rulesNlpExtractor, text);
    }
  }

  /**
   * A summary and entities for the text, or why there are none. The prompt asks for the summary
   * in the memory's `language`. An answer that is not valid JSON is repaired where it can be,
   * else asked for again (`jsonRetries`), else the memory is skipped: counted in `json`, never thrown.
   */
  async describe(text: string, kind?: string, language?: string): Promise<{ status: "on"; record: SemanticRecord } | { status: "skipped"; reason: string }> {
    const maxChars = this.options.summaryChars ?? 280;
    const retries = this.options.jsonRetries ?? 1;
    try {
      const rules = await this.entitiesOf(text);
      const messages = summaryMessages(text, { maxChars, ...(this.options.prompt ? { prompt: this.options.prompt } : {}), ...(language ? { language } : {}) });
      for (let attempt = 0; ; attempt++) {
        const answer = await this.router.generate({ messages, maxTokens: this.options.maxTokens ?? 256, jsonSchema: summarySchema(maxChars) }, this.router.classify(text, kind));
        try {
          const { record, repaired } = parseSummaryAnswerLoose(answer.text, text, rules, answer.source, maxChars);
          if (repaired) this.json.repaired++;
          this.described++;
          return { status: "on", record };
        } catch (error) {
          if (!isMemzipError(error, ErrorCode.BACKEND_REJECTED)) throw error;
          if (attempt >= retries) {
            this.json.failed++;
            throw error;
          }
          this.json.retries++;
          messages.push({ role: "assistant", content: answer.text }, { role: "user", content: "That was not valid JSON. Reply with the JSON object only, following the schema." });
        }
      }
    } catch (error) {
      this.skipped++;
      return { status: "skipped", reason: (error as Error).message };
    }
  }

  /** The text written back out from its summary and entities by a model, in the memory's language: lossy, never the exact text. */
  async rebuild(record: SemanticRecord, language?: string): Promise<string> {
    const answer = await this.router.generate({ messages: rebuildMessages(record, language), maxTokens: this.options.maxTokens ?? 256 }, "short");
    return answer.text;
  }

  usage(): UsageLine[] {
    const stats = this.router.stats();
    return this.router.backends.map((b) => {
      const s = stats[b.name];
      return { backend: b.name, model: b.model, local: b.local, calls: s?.calls ?? 0, promptTokens: s?.promptTokens ?? 0, completionTokens: s?.completionTokens ?? 0, ms: s?.ms ?? 0 };
    });
  }

  costs(memories: number): CostReport {
    return costReport(this.usage(), this.options.prices ?? {}, memories);
  }

  async close(): Promise<void> {
    for (const backend of this.router.backends) await backend.close?.();
  }
}

async function createBackend(config: BackendConfig, retry: { retries: number; rateLimit: { perSecond: number; burst: number } }): Promise<TextBackend> {
  if (config.kind === "llama") return LlamaBackend.load({ name: config.name, path: config.path as string, gpu: "auto", threads: 1 });
  const common = {
    name: config.name,
    url: config.url as string,
    model: config.model as string,
    retries: config.retries ?? retry.retries,
    ...(retry.rateLimit.perSecond > 0 ? { rateLimit: retry.rateLimit } : {}),
    ...(config.embedModel ? { embedModel: config.embedModel } : {}),
    ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
    ...(config.stream !== undefined ? { stream: config.stream } : {}),
    ...(config.local !== undefined ? { local: config.local } : {}),
    ...(config.allowLinkLocal ? { allowLinkLocal: true } : {}),
  };
  if (config.kind === "ollama") return new OllamaBackend({ ...common, ...(config.endpoint ? { endpoint: config.endpoint } : {}) });
  return new OpenAiBackend({ ...common, ...(config.apiKeyEnv ? { apiKeyEnv: config.apiKeyEnv } : {}) });
}
