import type { ChildProcess } from "node:child_process";
import { once } from "node:events";

/** Stops a child process the bench started (`memzip serve`) with SIGTERM and waits for it to exit; one that has exited is left as it is. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}
