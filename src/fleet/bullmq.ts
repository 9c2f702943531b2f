/**
 * BullMQ's classes, loaded as the CommonJS package it is. An ESM `import` of it makes Node scan
 * every file its index re-exports for their export names (cjs-module-lexer) before running them:
 * about 1.7–2x the CPU of a plain `require` (0.33–0.52 s against 0.17–0.26 s on the loaded 2-core
 * box), paid at the start of each importer, i.e. before its first chunk reaches a worker.
 * Types come from the package itself; only the loading differs.
 */
import { createRequire } from "node:module";
import type * as BullMQ from "bullmq";

const bullmq = createRequire(import.meta.url)("bullmq") as typeof BullMQ;

export const Queue = bullmq.Queue;
export const Worker = bullmq.Worker;
export const UnrecoverableError = bullmq.UnrecoverableError;
