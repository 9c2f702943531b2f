/** Lines of `memzip import`'s summary that a local and a queued import both print. */
import type { FinishStep } from "../../engine.js";

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
