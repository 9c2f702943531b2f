/** Lines of `memzip import`'s summary that a local and a queued import both print. */
import type { FinishStep, ImportTraining } from "../../engine.js";
import { formatBytes } from "../progress.js";

/** What a stop while an import ended left undone, and the command that finishes it (`resume`: the whole command line, as pasted). */
export function interruptedLine(step: FinishStep, resume: string | undefined): string {
  if (step.step === "compact") return "interrupted before compacting the store: everything is stored and trained; `memzip compact` gives the free pages back";
  const what =
    step.step === "train" ? `training a ${step.kind} for namespace ${step.namespace}` : `recoding namespace ${step.namespace} (${step.done}${step.total === undefined ? "" : ` of ${step.total}`} checked)`;
  const finish = resume
    ? `continue with: ${resume}`
    : step.step === "train"
      ? "import the file again to finish (what is stored is skipped)"
      : `\`memzip recode -n ${step.namespace}\` finishes it`;
  return `interrupted while ${what}: every record read is stored, what was trained and recoded stays; ${finish}`;
}

/**
 * The CLI's advice for `count` records that `-n NS` refused for naming another namespace (the
 * engine's rejection names no flag: a server's client reads it too). Empty when there are none.
 */
export function pinAdvice(count: number, namespace: string, file: string): string {
  if (count === 0) return "";
  const them = count === 1 ? "it" : "them";
  return (
    `\n  ${count} ${count === 1 ? "record names" : "records name"} another namespace than ${JSON.stringify(namespace)}: to write ${them} here, drop the field first ` +
    `(e.g. jq -c 'del(.namespace)' ${file} > copy.jsonl); to write each to the namespace it names, import without -n`
  );
}

/** Rejections an import's summary prints one line each (--json lists more). */
export const MAX_REJECTED_LINES = 20;

/**
 * What an import's ending trained in a namespace, the recode that applied it, and the trainings measured to store the
 * namespace larger (removed again; the namespace writes as before). `where`: " in NS" where several namespaces trained.
 */
export function trainingLine(trained: ImportTraining, where = ""): string {
  const used = trained.assets.map((a) => `${a.kind} ${a.id.slice(0, 12)} (${formatBytes(a.bytes)})`).join(", ");
  const parts = [
    ...(used ? [`trained${where} ${used}`] : []),
    ...(trained.recode.recoded > 0 || used ? [`recoded${used ? "" : where} ${trained.recode.recoded} memories`] : []),
    ...(trained.pruned.length ? [`dropped ${trained.pruned.length} superseded assets`] : []),
  ];
  for (const lost of trained.notUsed ?? []) {
    const c = lost.comparison;
    const measured = c ? ` (~${formatBytes(c.trainedBytes)} with it against ~${formatBytes(c.activeBytes)} ${c.activeId ? "with the active one" : "without one"}, measured on ${c.memories} memories)` : "";
    parts.push(`did not use a ${lost.kind} trained${where} on ${lost.samples} memories: it would store the namespace larger${measured}`);
  }
  return parts.join("; ");
}
