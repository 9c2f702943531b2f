#!/usr/bin/env node
import { main } from "./app.js";

// A reader that stops early (`memzip get ID | head`) closes the pipe: that ends the output, not the command — later
// writes go nowhere, and the command finishes its work (an import still commits) and exits with its own status.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.stdout.write = (() => true) as typeof process.stdout.write;
});

process.exitCode = await main(process.argv.slice(2));
