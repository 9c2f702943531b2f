import { ErrorCode, MemzipError, isMemzipError } from "../errors.js";

/**
 * The signals that stop a long command: Ctrl-C (SIGINT) and SIGTERM, which `kill`, systemd,
 * `docker stop` and Kubernetes send. A command that listens stops the same way for both (what is
 * written stays, temporaries go, a job is marked for --resume) and exits as the shell reports a
 * process that signal ended: 128 + the signal's number.
 */
export type StopSignal = "SIGINT" | "SIGTERM";

const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM"];

const EXIT_BY_SIGNAL: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** The exit code of a command `signal` stopped (130 for Ctrl-C, 143 for SIGTERM). */
export function signalExitCode(signal: StopSignal): number {
  return EXIT_BY_SIGNAL[signal];
}

/** Whether `code` is the exit code of a command a stop signal ended. */
export function isSignalExit(code: number): boolean {
  return code === EXIT_BY_SIGNAL.SIGINT || code === EXIT_BY_SIGNAL.SIGTERM;
}

/** How a message names `signal` to the person who sent it. */
export function signalName(signal: StopSignal): string {
  return signal === "SIGINT" ? "Ctrl-C" : "SIGTERM";
}

/**
 * Calls `onStop` for each stop signal the process receives, with the signal and how many came
 * before it, until the returned function is called. While it listens, neither signal ends the
 * process by itself: `onStop` decides.
 */
export function onStopSignals(onStop: (signal: StopSignal, before: number) => void): () => void {
  let received = 0;
  const listener = (signal: NodeJS.Signals) => {
    const stop: StopSignal = signal === "SIGTERM" ? "SIGTERM" : "SIGINT";
    onStop(stop, received++);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, listener);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, listener);
  };
}

/**
 * The error a command stopped by `signal` ends with: `E_ABORTED`, its message and hint the command's, and the signal in
 * its details, so that the process exits with the signal's code (`exitCodeOfAbort`).
 */
export function stoppedBySignal(signal: StopSignal, message: string, hint: string, details: Record<string, unknown> = {}): MemzipError {
  return new MemzipError(ErrorCode.ABORTED, `${message} (${signalName(signal)})`, { hint, details: { ...details, signal } });
}

/** The exit code of an `E_ABORTED` error a stop signal caused (`stoppedBySignal`), else undefined. */
export function exitCodeOfAbort(error: MemzipError): number | undefined {
  const signal = error.details.signal;
  return error.code === ErrorCode.ABORTED && (signal === "SIGINT" || signal === "SIGTERM") ? signalExitCode(signal) : undefined;
}

/** What a stopped command says: its message and the fix (read when the command has stopped, so it can name the step it stopped in). */
export interface StopNotice {
  message: string;
  hint: string;
}

/**
 * Runs `work` with a signal that the first Ctrl-C or SIGTERM aborts, after `onStop` (which tells the user); a second
 * signal ends the process at once. An abort `work` throws after the signal (`E_ABORTED`, or the signal's AbortError)
 * becomes the error `stoppedBySignal` makes of `notice()`; any other error (a full disk, a damaged store) is thrown as
 * it is. Work that finished although the signal came returns as usual.
 */
export async function stoppable<T>(work: (signal: AbortSignal) => Promise<T>, onStop: (signal: StopSignal) => void, notice: () => StopNotice): Promise<T> {
  const controller = new AbortController();
  let stoppedBy: StopSignal | undefined;
  const stopListening = onStopSignals((signal, before) => {
    if (before > 0) process.exit(signalExitCode(signal));
    stoppedBy = signal;
    onStop(signal);
    controller.abort();
  });
  try {
    return await work(controller.signal);
  } catch (error) {
    if (stoppedBy === undefined || !isAbort(error)) throw error;
    const { message, hint } = notice();
    throw stoppedBySignal(stoppedBy, message, hint);
  } finally {
    stopListening();
  }
}

/** An error that says work was stopped: memzip's `E_ABORTED`, or an aborted signal's AbortError. */
function isAbort(error: unknown): boolean {
  return isMemzipError(error, ErrorCode.ABORTED) || (error instanceof Error && error.name === "AbortError");
}
