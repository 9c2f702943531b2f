#!/usr/bin/env node
import { main } from "./app.js";

// A reader that stops early (`memzip get ID | head`) closes the pipe: that ends the output, not the command — later
// writes go nowhere, and the command finishes its work (an import still commits) and exits with its own status.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.stdout.write = (() => true) as typeof process.stdout.write;
});

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
