import type { Command } from "../command.js";
import { ID_NAMESPACE, STORE_OPTIONS } from "../command.js";
import { choices, MEMORY_KINDS } from "../../core/vocabulary.js";
import { emit, openEngine, parseChoice, parseTtl, readInputText, requirePositional, usage } from "../shared.js";
import { inexactInteger, inexactIntegerProblem } from "../../core/json-numbers.js";

export const updateCommand: Command = {
  name: "update",
  positionals: 1,
  summary: "change a memory's text, kind, tags, meta or expiry; what is not given stays",
  usage: 'memzip update ID [--text "TEXT" | --file FILE | --file -] [--kind KIND] [--tag T]... [--no-tags] [--meta KEY=VALUE]... [--ttl DURATION | --no-expiry] [--if-match TAG] [-n NS]',
  help: `Patch semantics: only what is given changes; the creation time stays. --tag replaces the tag
list (repeat for several; --no-tags empties it); --meta KEY=VALUE sets one key (VALUE is JSON when it
parses as JSON, else a string; meta is a JSON merge patch, RFC 7396: an object merges key by key) and
KEY= removes it. --ttl sets the memory to expire that long from
now; --no-expiry clears an expiry. A new text is coded and verified like \`add\`. --if-match TAG (the
"etag" of \`memzip get --json\`) changes the memory only while it is as that read saw it; otherwise
E_PRECONDITION (exit 15) and nothing is written.
With --json: the write result ({"id", "namespace", "status", "codec", "originalBytes", "storedBytes"}).`,
  options: {
    text: { type: "string", value: "TEXT", help: "the new text" },
    file: { type: "string", value: "FILE", help: 'read the new text from FILE (UTF-8); "-" reads stdin' },
    kind: { type: "string", value: "KIND", help: choices(MEMORY_KINDS) },
    tag: { type: "string", multiple: true, value: "T", help: "the new tag list: one tag a flag" },
    "no-tags": { type: "boolean", help: "remove every tag" },
    meta: { type: "string", multiple: true, value: "K=V", help: "set meta key K to V (JSON or string); K= removes K" },
    ttl: { type: "string", value: "DURATION", help: "expire DURATION from now: 30d, 12h, 90m (reads skip it then; compact deletes it)" },
    "no-expiry": { type: "boolean", help: "clear the memory's expiry (it never expires)" },
    "if-match": { type: "string", value: "TAG", help: "only if the memory's tag is still TAG (the etag of get --json)" },
    ...ID_NAMESPACE,
    ...STORE_OPTIONS,
  },
  async run(context) {
    const { values } = context;
    const id = requirePositional(context, 0, "ID");
    if (typeof values.text === "string" && typeof values.file === "string") throw usage("give the new text with --text or --file, not both");
    const text = typeof values.file === "string" ? readInputText(context, values.file) : typeof values.text === "string" ? values.text : undefined;
    const kind = parseChoice(MEMORY_KINDS, values.kind, "kind");
    const tagList = (values.tag as string[] | undefined) ?? [];
    if (values["no-tags"] === true && tagList.length) throw usage("--no-tags and --tag contradict each other");
    const tags = values["no-tags"] === true ? [] : tagList.length ? tagList : undefined;
    let meta: Record<string, unknown> | undefined;
    for (const pair of (values.meta as string[] | undefined) ?? []) {
      const at = pair.indexOf("=");
      if (at <= 0) throw usage(`--meta ${JSON.stringify(pair)}: write KEY=VALUE (KEY= removes the key)`);
      const raw = pair.slice(at + 1);
      let value: unknown = raw === "" ? null : raw;
      if (raw !== "") {
        try {
          value = JSON.parse(raw);
        } catch {
          value = raw;
        }
        // Any JSON the value parsed as: a number, or one inside an object or array.
        const inexact = value !== raw ? inexactInteger(raw) : undefined;
        if (inexact !== undefined) {
          const { message } = inexactIntegerProblem(inexact);
          throw usage(`--meta ${pair.slice(0, at)}=${raw}: ${message}; write ${pair.slice(0, at)}='"${raw}"' to keep it as text`);
        }
      }
      // Defined, not assigned: a key named __proto__ stays a key (the engine refuses it by name) instead of setting the prototype.
      Object.defineProperty((meta ??= {}), pair.slice(0, at), { value, enumerable: true, writable: true, configurable: true });
    }
    const ttlMs = parseTtl(values.ttl);
    if (ttlMs !== undefined && values["no-expiry"] === true) throw usage("--ttl and --no-expiry contradict each other");
    const expiry = ttlMs !== undefined ? { ttlMs } : values["no-expiry"] === true ? { expiresAt: null } : {};
    if (text === undefined && kind === undefined && tags === undefined && meta === undefined && Object.keys(expiry).length === 0) {
      throw usage("nothing to change: give --text, --file, --kind, --tag, --no-tags, --meta, --ttl or --no-expiry");
    }
    const engine = openEngine(context);
    try {
      const namespace = typeof values.namespace === "string" ? values.namespace : undefined;
      const ifMatch = typeof values["if-match"] === "string" ? { ifMatch: values["if-match"] } : {};
      const result = await engine.update(id, { ...(text === undefined ? {} : { text }), ...(kind ? { kind } : {}), ...(tags ? { tags } : {}), ...(meta ? { meta } : {}), ...expiry }, namespace, ifMatch);
      emit(context, result, `${result.id}  ${result.repaired ? "repaired" : result.status}  ${result.codec || "-"}  ${result.originalBytes} -> ${result.storedBytes} bytes`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
