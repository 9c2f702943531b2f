import type { Command } from "../command.js";
import { STORE_OPTIONS } from "../command.js";
import { KEY_ROLES } from "../../core/store.js";
import { choices } from "../../core/vocabulary.js";
import { ErrorCode, MemzipError } from "../../errors.js";
import { checkKeyRequest } from "../../engine/keys.js";
import { emit, openEngine, parseChoice, refuseFlags, terminalSafe, usage } from "../shared.js";

const ACTIONS = ["create", "ls", "revoke"] as const;

export const keysCommand: Command = {
  name: "keys",
  summary: "create, list or revoke API keys for memzip serve and MCP over HTTP (keys create | ls | revoke ID)",
  usage: `memzip keys create --namespace NS [--namespace NS2 …] --role ${KEY_ROLES.join("|")} [--label TEXT] [--db DB] [--json]
       memzip keys ls [--db DB] [--json]
       memzip keys revoke ID [--db DB] [--json]`,
  help: `A key acts only inside its namespaces (--namespace '*' for all) with its role: read < write < admin.
create prints the new key once ({"key", "id", …} with --json); the store keeps only its sha256.
Requests send it as \`Authorization: Bearer KEY\`. ls lists ids, roles, namespaces and labels, never keys.`,
  options: {
    namespace: { type: "string", short: "n", multiple: true, value: "NS", help: "a namespace the key may use (repeat for more; * for all)" },
    role: { type: "string", value: "R", help: `${choices(KEY_ROLES)} (create; default read)` },
    label: { type: "string", value: "TEXT", help: "a note to tell keys apart in `keys ls` (create)" },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const action = parseChoice(ACTIONS, context.positionals[0], "action");
    if (action === undefined) throw usage(`keys needs an action: ${ACTIONS.join(", ")}`);
    // ls lists every key: a --namespace or --role there would look like a filter and be ignored.
    if (action !== "create") refuseFlags(context, `keys ${action}`, ["namespace", "role", "label"], "keys create");
    // A refused key is refused before the store is opened: `keys create` on a store that does not exist yet creates it.
    const role = action === "create" ? parseChoice(KEY_ROLES, context.values.role, "role", "read") : "read";
    const namespaces = action === "create" ? checkKeyRequest({ role, namespaces: (context.values.namespace as string[] | undefined) ?? [] }) : [];
    const engine = openEngine(context, {}, { readOnly: action === "ls", create: action === "create" });
    try {
      if (action === "create") {
        const label = typeof context.values.label === "string" ? context.values.label : undefined;
        const { key, record } = await engine.keys.create({ role, namespaces, ...(label === undefined ? {} : { label }) });
        emit(context, { key, id: record.id, role: record.role, namespaces: record.namespaces, label: record.label }, `${key}\n(id ${record.id}, ${record.role} on ${record.namespaces.join(", ")}: shown once, keep it safe)`);
        return 0;
      }
      if (action === "revoke") {
        const id = context.positionals[1];
        if (id === undefined) throw usage("keys revoke needs the key's ID (from `memzip keys ls`)");
        if (!(await engine.keys.revoke(id))) {
          // A typed error like every other not-found (exit 4; with --json the usual {"error": …}).
          throw new MemzipError(ErrorCode.NOT_FOUND, `no active key ${id} (it does not exist or is already revoked)`, { hint: "List the keys and their state with `memzip keys ls`.", details: { id } });
        }
        emit(context, { id, revoked: true }, `revoked ${id}`);
        return 0;
      }
      const keys = (await engine.keys.list()).map(({ hash: _hash, ...key }) => key);
      const lines = keys.map((k) => `${k.id}\t${k.role}\t${k.namespaces.join(",")}\t${k.revokedAt === null ? "active" : "revoked"}\t${terminalSafe(k.label ?? "")}`);
      emit(context, { keys }, lines.length ? `id\trole\tnamespaces\tstatus\tlabel\n${lines.join("\n")}` : "no keys (memzip keys create --namespace NS --role read)");
      return 0;
    } finally {
      await engine.close();
    }
  },
};
