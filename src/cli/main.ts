#!/usr/bin/env node
import { fstatSync, writeSync } from "node:fs";
import { ErrorCode, MemzipError, resourceError } from "../errors.js";
import { main, report } from "./app.js";

// A reader that stops early (`memzip get ID | head`) closes the pipe: that ends the output, not the command — later
// writes go nowhere, and the command finishes its work (an import still commits) and exits with its own status.
// Any other failure to write the output (a full disk under `memzip get ID > file`) ends the command with a typed error:
// it printed Node's stack and exited 1 ("failures found").
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") {
    process.stdout.write = (() => true) as typeof process.stdout.write;
    return;
  }
  const typed =
    resourceError(error, "write the output") ??
    new MemzipError(ErrorCode.RESOURCE, `cannot write the output: ${error.message}`, { hint: "Check where standard output goes (a full disk, a closed file), then run the command again.", cause: error });
  // Not as JSON: standard output is what failed.
  process.exit(report(typed, false));
});

// Standard output into a file: Node writes each chunk with one write(2) and drops what a short write leaves (under a
// file-size limit `memzip get ID > file` was cut short and exited 0). Every byte is written, or the write fails (and
// the handler above ends the command with E_RESOURCE).
if (isFile(1)) {
  (process.stdout as unknown as { _write: (chunk: Buffer, encoding: string, done: (error?: Error) => void) => void })._write = (chunk, _encoding, done) => {
    try {
      for (let at = 0; at < chunk.length; ) {
        const written = writeSync(1, chunk, at, chunk.length - at);
        if (written <= 0) throw Object.assign(new Error("a write to standard output wrote nothing"), { code: "EIO" });
        at += written;
      }
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  };
}

function isFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

// memzip's own warnings (code MEMZIP_*: a disk cache it cannot use, say) read as the CLI's other notes, without Node's
// "(node:PID) … Use `node --trace-warnings`" frame; any other warning goes to Node's own printing, which also decides
// (--no-warnings, NODE_NO_WARNINGS, --redirect-warnings) whether memzip's are printed at all.
const nodeWarnings = process.listeners("warning");
process.removeAllListeners("warning");
process.on("warning", (warning: Error & { code?: string }) => {
  if (!warning.code?.startsWith("MEMZIP_")) for (const listener of nodeWarnings) listener(warning);
  else if (nodeWarnings.length > 0) process.stderr.write(`memzip: warning: ${warning.message}\n`);
});

process.exitCode = await main(process.argv.slice(2));
