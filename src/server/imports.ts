/**
 * Bulk routes: uploads streamed to a file and imported as background jobs (progress as Server-Sent
 * Events, resume), and exports streamed back as JSONL or Arrow. Everything is scoped by the key:
 * a job or namespace outside it answers 404, and a record naming another namespace than the job's
 * is refused (400) before anything is written.
 */
import { createWriteStream } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { FirstBy } from "../core/first-by.js";
import { MemoryFilterTextShape, toMemoryFilter } from "../core/filter.js";
import { inScope, JOB_STALE_AFTER_MS, type EngineImportReport, type ExportFailure, type KeyScope } from "../engine.js";
import { ErrorCode, MemzipError } from "../errors.js";
import { MAX_REJECTIONS_LISTED, pinRejection, type ImportProgress } from "../pipeline/batch-import.js";
import type { FleetImportReport, ImportHandle } from "../fleet/queue.js";
import type { ServerContext } from "./context.js";
import { HttpError, notFound } from "./errors.js";
import type { RouteRegistry } from "./routes.js";
import { scopeOf, targetNamespace } from "./scope.js";
import { uploadFolder } from "./upload-folder.js";

const FORMATS = ["jsonl", "arrow"] as const;
type Format = (typeof FORMATS)[number];
const CONTENT_TYPES: Record<Format, string> = { jsonl: "application/x-ndjson", arrow: "application/vnd.apache.arrow.file" };

/** Progress of a job as the API reports it (and as each SSE `progress` event carries it). */
const Progress = z.object({
  records: z.number().int().describe("records read so far (stored, unchanged and rejected), runs before a resume included"),
  bytes: z.number().int().describe("bytes of the upload read so far (Arrow: rows)"),
  totalBytes: z.number().int().nullable().describe("size of the upload (Arrow: rows)"),
  originalBytes: z.number().int(),
  storedBytes: z.number().int(),
  recordsPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
});
type Progress = z.infer<typeof Progress>;

/** Rejected records a job's report names with their reasons (a file of bad lines must not grow the job without bound). */
const MAX_REJECTIONS_SHOWN = 100;

const JobView = z.object({
  job: z.string(),
  namespace: z.string(),
  format: z.enum(FORMATS),
  status: z.enum(["running", "done", "interrupted", "failed"]),
  progress: Progress,
  report: z
    .object({
      read: z.number().int(),
      stored: z.number().int(),
      updated: z.number().int(),
      repaired: z.number().int().optional().describe("of updated: memories whose stored text no longer read back (damaged), coded again"),
      unchanged: z.number().int(),
      rejected: z.number().int(),
      rejections: z
        .array(z.object({ where: z.string().describe("line N (JSONL) or row N (Arrow)"), code: z.string(), message: z.string() }))
        .optional()
        .describe(`why records were rejected, the first ${MAX_REJECTIONS_SHOWN} (rejected counts them all)`),
      trained: z.array(z.string()).optional().describe("kinds of the assets trained at the end (auto-training), then applied by a recode"),
      notUsed: z
        .array(z.string())
        .optional()
        .describe("kinds of the assets trained at the end but not used: measured to store the namespace larger than what it writes with (e.g. the shipped base model)"),
      resumedAfterLine: z.number().int().optional().describe("a resumed job: the lines its earlier runs had committed; the counts above are of the lines after it"),
    })
    .optional()
    .describe("counts of the last run (finished or interrupted): after a resume, of the lines it read"),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
type JobView = z.infer<typeof JobView>;

interface Job {
  id: string;
  namespace: string;
  format: Format;
  path: string;
  size: number;
  status: JobView["status"];
  progress: Progress;
  startedAt: number;
  report?: NonNullable<JobView["report"]>;
  error?: { code: string; message: string };
  /** The engine's own job (JSONL), which `resume` continues. */
  engineJob?: string;
  /**
   * A JSONL job another server of this store took (its upload is in that server's folder): seen through the store's job
   * row, read again at each look-up; it cannot be resumed here.
   */
  elsewhere?: true;
  running?: Promise<void>;
  listeners: Set<(event: string, data: unknown) => void>;
}

const ImportQuery = z.object({
  namespace: z.string().min(1).max(128).optional().describe("the job's namespace; optional for a key with exactly one"),
  format: z.enum(FORMATS).default("jsonl"),
});
const JobParams = z.object({ job: z.string().regex(/^imp-[0-9a-z]+-[0-9a-f]+$/, "not a job id") });
const ExportQuery = z.object({
  namespace: z.string().min(1).max(128).optional(),
  format: z.enum(FORMATS).default("jsonl"),
  skipBad: z
    .stringbool()
    .default(false)
    .describe(
      "true: a memory that cannot be read back exactly (or a damaged part of the store) is left out and the export goes on; how many is in the `memzip-skipped` and `memzip-skipped-memories` trailers (JSONL) or headers (Arrow), each one in the server's log (POST /v1/verify lists them). Default false: the first one ends the export (a JSONL body cut short, an Arrow request answered with its error).",
    ),
  ...MemoryFilterTextShape,
});
/** What a `skipBad` export reports: the reports (a damaged part is one) and the memories they stand for. */
const SKIPPED = "memzip-skipped";
const SKIPPED_MEMORIES = "memzip-skipped-memories";

/** What a queued job keeps next to its upload so that a restarted server can resume it. */
const QueuedMarker = z.object({ namespace: z.string().min(1), startedAt: z.number() });
const queuedMarker = (upload: string) => `${upload}.queue.json`;

/** The namespace an import or export acts in: the one named (in scope, or 404), or the key's only one. */
function namespaceFor(scope: KeyScope | undefined, named: string | undefined): string {
  return targetNamespace(scopeOf(scope), named);
}

/** Passes bytes through, stops past `limit` (413) and refuses a line whose `namespace` is not `namespace` (400). */
class UploadGuard extends Transform {
  bytes = 0;
  private carry: Buffer = Buffer.alloc(0);
  private line = 0;

  constructor(
    private readonly limit: number,
    private readonly namespace: string | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return done(tooLarge(this.limit));
    if (this.namespace !== undefined) {
      const error = this.check(chunk, false);
      if (error) return done(error);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.namespace === undefined ? null : this.check(Buffer.alloc(0), true));
  }

  /**
   * Checks the complete lines of `carry + chunk`, each read as the importer reads it (a leading BOM
   * dropped; JSON escapes in keys decoded: every line is parsed, not only those that spell "namespace").
   */
  private check(chunk: Buffer, last: boolean): HttpError | null {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const end = last ? data.length : data.lastIndexOf(10) + 1;
    this.carry = data.subarray(end);
    if (end === 0) return null;
    const complete = data.subarray(0, end);
    for (let from = 0; from < complete.length; ) {
      const newline = complete.indexOf(10, from);
      const to = newline === -1 ? complete.length : newline;
      const bytes = complete.subarray(from, to);
      from = to + 1;
      this.line++;
      // A line that neither spells "namespace" nor escapes a character cannot name one: not parsed (a failed parse
      // costs ~4 µs, and 8 MB of one-byte junk lines held the event loop seconds).
      if (bytes.indexOf(NAMESPACE_KEY) === -1 && bytes.indexOf(BACKSLASH) === -1) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(lineDecoder.decode(bytes));
      } catch {
        continue; // the import reports the bad line itself
      }
      const named = (parsed as { namespace?: unknown } | null)?.namespace;
      if (named !== undefined && named !== this.namespace) return otherNamespace(this.line, this.namespace as string);
    }
    return null;
  }
}

const NAMESPACE_KEY = Buffer.from("namespace");
const BACKSLASH = 0x5c;

/** As the JSONL reader decodes a line: a leading BOM is dropped (an invalid byte becomes U+FFFD here; the import rejects that line). */
const lineDecoder = new TextDecoder("utf-8");

// The rest of an oversized upload is not read: the connection closes after the answer.
const tooLarge = (limit: number) =>
  new HttpError(413, "E_TOO_LARGE", `the upload is larger than ${limit} bytes`, "Split the file, or start the server with a larger upload limit.", { connection: "close" });
const otherNamespace = (where: number | string, namespace: string) =>
  new HttpError(400, ErrorCode.INVALID_INPUT, `${typeof where === "number" ? `line ${where}` : where} names another namespace than the job's (${namespace})`, "Drop the records' `namespace` fields, or import each namespace as its own job with ?namespace=.");

export function registerImportRoutes(app: FastifyInstance, registry: RouteRegistry, context: ServerContext): void {
  const { engine, limits } = context;
  const jobs = new Map<string, Job>();

  // Uploads arrive as raw streams: the handler, not a body parser, reads and bounds them.
  app.addContentTypeParser([CONTENT_TYPES.jsonl, CONTENT_TYPES.arrow, "application/octet-stream"], (_request, payload, done) => done(null, payload));
  // A server with a queue loads the fleet's modules (BullMQ, ioredis) and opens its one connection
  // to the store's queue as it starts, before it listens: an upload's time is not spent on them.
  const fleet = context.queue === undefined ? undefined : loadFleet(context.queue, engine.location, (error) => app.log.warn({ err: error }, "the import queue's Redis is unreachable (imports wait for it)"));
  fleet?.catch(() => undefined); // awaited by onReady (a failure stops the start) and by each queued import
  app.addHook("onReady", async () => {
    await fleet;
  });
  // A server closing waits for its jobs: each stops after the batch in flight (shutdown aborts them).
  app.addHook("onClose", async () => {
    await Promise.allSettled([...jobs.values()].map((job) => job.running));
    await fleet?.then((loaded) => loaded.producer.close()).catch(() => undefined);
  });

  const view = (job: Job): JobView => ({
    job: job.id,
    namespace: job.namespace,
    format: job.format,
    status: job.status,
    progress: job.progress,
    ...(job.report ? { report: job.report } : {}),
    ...(job.error ? { error: job.error } : {}),
  });
  const emit = (job: Job, event: string, data: unknown) => {
    for (const listener of job.listeners) listener(event, data);
  };
  /** A JSONL job of an earlier run of the server (its upload kept, its checkpoint in the store): interrupted, resumable. */
  const recover = async (id: string): Promise<Job | undefined> => {
    const path = join(uploadFolder(engine.location), `${id}.jsonl`);
    const size = await stat(path).then((s) => s.size, () => undefined);
    if (size === undefined) return elsewhere(id);
    const stored = (await engine.jobs(10_000)).find((candidate) => candidate.source === path);
    if (!stored) return recoverQueued(id, path, size);
    const job: Job = {
      id,
      namespace: stored.namespace,
      format: "jsonl",
      path,
      size,
      status: stored.status === "done" ? "done" : stored.status === "failed" ? "failed" : "interrupted",
      progress: { records: stored.line, bytes: stored.position, totalBytes: size, originalBytes: 0, storedBytes: 0, recordsPerSecond: 0, etaSeconds: null },
      startedAt: stored.startedAt,
      engineJob: stored.id,
      listeners: new Set(),
    };
    jobs.set(id, job);
    return job;
  };
  /**
   * A JSONL job another server of this store took: its row in the store names its upload, `<id>.jsonl` in that
   * server's folder (trial of stop 62: behind a load balancer, a job's status was 404 on every server but one).
   */
  const elsewhere = async (id: string): Promise<Job | undefined> => {
    // The newest 1,000 jobs: a look-up of an unknown id (any client with a key may send one) stays cheap.
    const stored = (await engine.jobs(1_000)).find((candidate) => basename(candidate.source) === `${id}.jsonl`);
    if (!stored) return undefined;
    const status = stored.status === "running" || stored.status === "done" || stored.status === "failed" ? stored.status : "interrupted";
    const total = stored.sourceSize ?? null;
    return {
      id,
      namespace: stored.namespace,
      format: "jsonl",
      path: stored.source,
      size: total ?? 0,
      status,
      progress: { records: stored.line, bytes: stored.position, totalBytes: total, originalBytes: 0, storedBytes: 0, recordsPerSecond: 0, etaSeconds: null },
      startedAt: stored.startedAt,
      engineJob: stored.id,
      elsewhere: true,
      listeners: new Set(),
    };
  };
  /** A queued job of an earlier run (its upload and its `.queue.json` kept): interrupted; resuming skips committed chunks. */
  const recoverQueued = async (id: string, path: string, size: number): Promise<Job | undefined> => {
    const saved = await readFile(queuedMarker(path), "utf8").then((text) => QueuedMarker.safeParse(JSON.parse(text)), () => undefined);
    if (!saved?.success) return undefined;
    const job: Job = {
      id,
      namespace: saved.data.namespace,
      format: "jsonl",
      path,
      size,
      status: "interrupted",
      progress: { records: 0, bytes: 0, totalBytes: size, originalBytes: 0, storedBytes: 0, recordsPerSecond: 0, etaSeconds: null },
      startedAt: saved.data.startedAt,
      listeners: new Set(),
    };
    jobs.set(id, job);
    return job;
  };
  const scoped = async (id: string, scope: KeyScope | undefined): Promise<Job> => {
    const job = jobs.get(id) ?? (await recover(id));
    // Another namespace's job answers exactly as a missing one.
    if (!job || !scope || !inScope(scope, job.namespace)) throw notFound(`import job ${id}`);
    return job;
  };

  const run = (job: Job): void => {
    job.status = "running";
    job.startedAt = Date.now();
    delete job.error;
    // A resumed JSONL job goes on from its last committed line: the records before it count in its progress too.
    let before = 0;
    let fromByte = 0;
    const onProgress = (p: ImportProgress) => {
      const seconds = Math.max((Date.now() - job.startedAt) / 1000, 1e-3);
      const rate = p.done / seconds;
      const bytesPerSecond = (p.position - fromByte) / seconds;
      const eta = p.end !== undefined && bytesPerSecond > 0 ? Math.max(0, (p.end - p.position) / bytesPerSecond) : null;
      job.progress = {
        records: before + p.done,
        bytes: p.position,
        totalBytes: p.end ?? null,
        originalBytes: p.originalBytes,
        storedBytes: p.storedBytes,
        recordsPerSecond: Math.round(rate * 10) / 10,
        etaSeconds: eta === null ? null : Math.round(eta * 10) / 10,
      };
      emit(job, "progress", job.progress);
    };
    // Pinned: a record naming another namespace is rejected where it would be written, whatever the upload check saw.
    const options = { namespace: job.namespace, pinNamespace: true, signal: context.shutdown, onProgress };
    job.running = (async () => {
      let report: EngineImportReport;
      try {
        if (context.queue && fleet && job.format === "jsonl") {
          report = await queuedImport(job, context.queue, await fleet, (p) => {
            job.progress = p;
            emit(job, "progress", p);
          });
        } else if (job.format === "jsonl") {
          // Where the engine's job begins, told before it reads (each try of `untilStale` is told again).
          const onJob = (_id: string, from: { line: number; position: number }) => {
            before = from.line;
            fromByte = from.position;
          };
          report = await untilStale(() => engine.importJsonl(job.path, { ...options, onJob, end: job.size, ...(job.engineJob ? { resume: job.engineJob } : {}) }));
          if (report.jobId) job.engineJob = report.jobId;
        } else {
          report = await engine.importArrow(await readFile(job.path), { ...options, end: job.progress.totalBytes ?? undefined });
        }
        job.report = {
          read: report.read,
          stored: report.stored,
          updated: report.updated,
          ...(report.repaired ? { repaired: report.repaired } : {}),
          unchanged: report.unchanged,
          rejected: report.rejectedCount,
          // A reader's message names its line already ("line 2: not valid UTF-8"): said once, in `where`.
          ...(report.rejected.length > 0 ? { rejections: report.rejected.slice(0, MAX_REJECTIONS_SHOWN).map(({ where, code, message }) => ({ where, code, message: message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message })) } : {}),
          ...(report.trained ? { trained: report.trained.assets.map((asset) => asset.kind) } : {}),
          ...(report.trained?.notUsed?.length ? { notUsed: report.trained.notUsed.map((asset) => asset.kind) } : {}),
          ...(report.resumedFrom ? { resumedAfterLine: report.resumedFrom.line } : {}),
        };
        job.status = report.aborted ? "interrupted" : "done";
        if (job.status === "done") await Promise.all([rm(job.path, { force: true }), rm(queuedMarker(job.path), { force: true })]);
      } catch (error) {
        job.status = "failed";
        job.error = error instanceof MemzipError ? { code: error.code, message: error.message } : { code: "E_INTERNAL", message: "the import failed; the server log has the details" };
        if (!(error instanceof MemzipError)) app.log.error({ err: error, job: job.id }, "import failed");
      }
      emit(job, job.status === "done" ? "done" : job.status, view(job));
    })();
  };

  /**
   * Runs a resume that the store may answer E_BUSY: the job's row still says "running" with a recent
   * heartbeat and names a process this machine cannot check (a server of another machine or container killed
   * with SIGKILL: one of this machine is seen to have ended and its job resumes at once), or another
   * process really runs it. Waits until the row would be stale (`JOB_STALE_AFTER_MS` after its last save) and
   * tries again, for at most two stale windows in all (a process that still saves progress keeps it:
   * then E_BUSY stands); a shutdown meanwhile ends the wait.
   */
  const untilStale = async <T>(work: () => Promise<T>): Promise<T> => {
    const giveUpAt = Date.now() + 2 * JOB_STALE_AFTER_MS;
    for (;;) {
      try {
        return await work();
      } catch (error) {
        const updatedAt = error instanceof MemzipError && error.code === ErrorCode.BUSY ? error.details?.updatedAt : undefined;
        if (typeof updatedAt !== "number" || Date.now() >= giveUpAt || context.shutdown.aborted) throw error;
        const wait = Math.min(Math.max(updatedAt + JOB_STALE_AFTER_MS + 1000 - Date.now(), 1000), giveUpAt - Date.now());
        await sleep(wait, undefined, { signal: context.shutdown }).catch(() => undefined);
        if (context.shutdown.aborted) throw error;
      }
    }
  };

  /**
   * A JSONL job on a server started with `--queue`: the upload is cut into chunks on the store's
   * queue (`enqueueImport`) and the fleet's workers code and commit them; this server only reads the
   * file and waits, then ends the import (auto-training) once. The import's id is the job's, so a
   * resumed job skips the chunks already committed and enqueues the rest.
   */
  const queuedImport = async (job: Job, queue: string, loaded: Fleet, onProgress: (progress: Progress) => void): Promise<EngineImportReport> => {
    const { enqueueImport, importIdFor, readJsonlRecords, producer } = loaded;
    type Rejection = EngineImportReport["rejected"][number];
    // The first ones by line (the reader's and the workers' together), all of them counted.
    const rejected = new FirstBy<{ line: number; rejection: Rejection }>(MAX_REJECTIONS_LISTED, (r) => r.line);
    let read = 0;
    // The line of each record enqueued, in order: a worker's rejection names its record's place in the upload.
    const lines: number[] = [];
    const records = async function* () {
      for await (const item of readJsonlRecords(job.path, context.shutdown)) {
        read++;
        // The job's namespace is pinned here too (the workers write what the chunks hold).
        const error = item.ok ? pinRejection(item.record, job.namespace, `line ${item.line}`) : item.error;
        if (error) rejected.add({ line: item.line, rejection: { where: `line ${item.line}`, message: error.message, code: error.code } });
        else if (item.ok) {
          lines.push(item.line);
          yield item.record;
        }
      }
    };
    let handle: ImportHandle | undefined;
    let aborted = false;
    // Records in the whole chunks queued when a shutdown stopped the enqueueing (the rest is read again on resume).
    let queuedRecords: number | undefined;
    try {
      handle = await enqueueImport(records(), { queue, location: engine.location, importId: importIdFor("server", job.id), namespace: job.namespace, producer, signal: context.shutdown });
    } catch (error) {
      // A shutdown while the upload was being read: the whole chunks are queued, the rest is enqueued on resume.
      if (!(error instanceof MemzipError && error.code === ErrorCode.ABORTED)) throw error;
      aborted = true;
      queuedRecords = typeof error.details.records === "number" ? error.details.records : undefined;
    }
    try {
      let done: FleetImportReport | undefined;
      try {
        done = await handle?.wait({
          signal: context.shutdown,
          onProgress: (p) => {
            const seconds = Math.max((Date.now() - job.startedAt) / 1000, 1e-3);
            const rate = p.recordsDone / seconds;
            onProgress({
              records: p.recordsDone,
              // Chunks complete out of order: the bytes read so far are estimated from the records done.
              bytes: p.records ? Math.round((job.size * p.recordsDone) / p.records) : job.size,
              totalBytes: job.size,
              originalBytes: p.originalBytes,
              storedBytes: p.storedBytes,
              recordsPerSecond: Math.round(rate * 10) / 10,
              etaSeconds: rate > 0 ? Math.round(((p.records - p.recordsDone) / rate) * 10) / 10 : null,
            });
          },
        });
      } catch (error) {
        if (!(error instanceof MemzipError && error.code === ErrorCode.ABORTED)) throw error;
        aborted = true;
      }
      const readLines = done ? done.records + rejected.count : queuedRecords !== undefined ? queuedRecords + rejected.count : read;
      // The workers' first rejections by record, each named by its line; those past the list are counted.
      for (const r of done?.rejected ?? []) {
        const line = lines[r.record];
        rejected.add({ line: line ?? Infinity, rejection: { where: `line ${line ?? "?"}`, message: r.message, code: r.code } });
      }
      const unlisted = done ? done.rejectedCount - done.rejected.length : 0;
      const trained = done && !aborted ? await engine.finishImport(job.namespace) : undefined;
      // What the workers report per chunk; codec counts and coding latencies stay in the workers' metrics.
      return {
        namespace: job.namespace,
        read: readLines,
        stored: done?.stored ?? 0,
        updated: done?.updated ?? 0,
        repaired: done?.repaired ?? 0,
        unchanged: done?.unchanged ?? 0,
        // Queued chunks are coded apart: each line is written (no skipping of an id a later line repeats).
        superseded: 0,
        rejected: rejected.list().map((r) => r.rejection),
        rejectedCount: rejected.count + unlisted,
        rejectedByNamespace: {},
        originalBytes: done?.originalBytes ?? 0,
        storedBytes: done?.storedBytes ?? 0,
        byCodec: {},
        verifyFailures: 0,
        deduplicated: 0,
        grouped: 0,
        latencyMs: { p50: 0, p95: 0, max: 0 },
        aborted,
        ...(trained ? { trained } : {}),
      };
    } finally {
      await handle?.close();
    }
  };

  registry.add(app, {
    method: "POST",
    path: "/v1/imports",
    summary: "upload a JSONL or Arrow file and import it as a background job",
    description:
      "The request body is the file itself (Content-Type application/x-ndjson or application/vnd.apache.arrow.file), streamed to a " +
      "temporary file and bounded by the upload limit (413). Records that name another namespace than the job's are refused (400): nothing is written.",
    tag: "imports",
    role: "write",
    query: ImportQuery,
    response: JobView,
    status: 202,
    handler: async ({ query, scope, request }) => {
      const namespace = namespaceFor(scope, query.namespace);
      const declared = Number(request.headers["content-length"]);
      if (Number.isFinite(declared) && declared > limits.uploadBytes) throw tooLarge(limits.uploadBytes);
      const body = request.body;
      if (!(body instanceof Readable)) {
        throw new HttpError(415, "E_MEDIA_TYPE", "send the file as the raw request body", `Content-Type ${CONTENT_TYPES[query.format]}.`);
      }
      // The declared type must be the format's (or plain bytes): an Arrow file sent as JSONL is a client's mistake, said as one.
      const declaredType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
      if (declaredType !== CONTENT_TYPES[query.format] && declaredType !== "application/octet-stream") {
        throw new HttpError(415, "E_MEDIA_TYPE", `${query.format === "arrow" ? "an Arrow" : "a JSONL"} upload was sent as ${declaredType}`, `Send it with Content-Type ${CONTENT_TYPES[query.format]}, or give the format that matches the file (?format=${query.format === "jsonl" ? "arrow" : "jsonl"}).`);
      }
      const folder = uploadFolder(engine.location);
      const id = `imp-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
      const path = join(folder, `${id}.${query.format}`);
      const guard = new UploadGuard(limits.uploadBytes, query.format === "jsonl" ? namespace : undefined);
      try {
        await pipeline(body, guard, createWriteStream(path, { mode: 0o600 }));
      } catch (error) {
        await rm(path, { force: true });
        if (error instanceof HttpError) throw error;
        throw new HttpError(400, ErrorCode.USAGE, "the upload did not arrive whole", "Send it again.");
      }
      let total: number | null = (await stat(path)).size;
      if (query.format === "arrow") {
        try {
          total = await arrowRows(path, namespace);
        } catch (error) {
          await rm(path, { force: true });
          throw error;
        }
      }
      const job: Job = {
        id,
        namespace,
        format: query.format,
        path,
        size: guard.bytes,
        status: "running",
        progress: { records: 0, bytes: 0, totalBytes: total, originalBytes: 0, storedBytes: 0, recordsPerSecond: 0, etaSeconds: null },
        startedAt: Date.now(),
        listeners: new Set(),
      };
      jobs.set(id, job);
      // A queued job has no checkpoint in the store: this file lets a restarted server find it (`recover`).
      if (context.queue && query.format === "jsonl") await writeFile(queuedMarker(path), JSON.stringify({ namespace, startedAt: job.startedAt }), { mode: 0o600 });
      run(job);
      return view(job);
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/imports/:job",
    summary: "an import job's status and progress",
    tag: "imports",
    role: "read",
    params: JobParams,
    response: JobView,
    handler: async ({ params, scope }) => view(await scoped(params.job, scope)),
  });

  registry.add(app, {
    method: "POST",
    path: "/v1/imports/:job/resume",
    summary: "continue an interrupted or failed import where its last committed batch ended",
    description: "A running or finished job is answered as it is. JSONL continues from its checkpoint; Arrow reads the file again and skips what is stored.",
    tag: "imports",
    role: "write",
    params: JobParams,
    response: JobView,
    status: 202,
    handler: async ({ params, scope }) => {
      const job = await scoped(params.job, scope);
      if (job.elsewhere && (job.status === "interrupted" || job.status === "failed")) {
        throw new HttpError(409, ErrorCode.CONFLICT, `import job ${job.id}'s upload is not on this server: another server of this store took it, or this server's upload folder was cleared`, "Resume it on the server that took it, or upload the file again (the records already stored are answered unchanged).");
      }
      if (job.status === "interrupted" || job.status === "failed") {
        if (context.shutdown.aborted) throw new HttpError(503, "E_SHUTTING_DOWN", "the server is shutting down", "Resume the job after the restart.");
        run(job);
      }
      return view(job);
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/imports/:job/events",
    summary: "Server-Sent Events of a job's progress until it ends",
    description: "Events: `progress` (records, bytes, rate, ETA), then one of `done`, `interrupted`, `failed` with the job's status; the stream then ends.",
    tag: "imports",
    role: "read",
    params: JobParams,
    response: z.string().describe("text/event-stream"),
    streams: true,
    contentType: "text/event-stream",
    handler: async ({ params, scope, reply }) => {
      const job = await scoped(params.job, scope);
      if (job.elsewhere) followElsewhere(reply, job, () => elsewhere(job.id), view, context.shutdown);
      else streamEvents(reply, job, view, context.shutdown);
    },
  });

  registry.add(app, {
    method: "GET",
    path: "/v1/export",
    summary: "every memory of a namespace (or those the filter matches), streamed as JSONL (one memory a line) or as an Arrow IPC file",
    tag: "imports",
    role: "read",
    query: ExportQuery,
    response: z.string().describe("JSONL lines {id, namespace, kind, tags, meta, createdAt, expiresAt?, text, checksum}, or Arrow bytes"),
    streams: true,
    contentType: "application/x-ndjson",
    handler: async ({ query, scope, reply }) => {
      const namespace = scope?.namespaces === "*" && query.namespace === undefined ? undefined : namespaceFor(scope, query.namespace);
      const filter = toMemoryFilter(query);
      const skipped = { reports: 0, memories: 0 };
      const onBad = (failure: ExportFailure) => {
        skipped.reports++;
        skipped.memories += failure.memories ?? 1;
        reply.log.warn({ skipped: failure }, "export skipped what cannot be read back exactly");
      };
      // A client that goes away stops the export (an Arrow file is built whole before it is sent: a whole store's went
      // on for minutes after its client left); a JSONL stream stops with its socket too.
      const gone = new AbortController();
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) gone.abort(new MemzipError(ErrorCode.ABORTED, "the export's client went away before it was sent", { hint: "Ask again and read the answer to its end." }));
      });
      const options = { signal: AbortSignal.any([context.shutdown, gone.signal]), filter, ...(query.skipBad ? { onBad } : {}) };
      if (query.format === "arrow") {
        const bytes = await engine.exportArrow(namespace, options);
        if (query.skipBad) reply.header(SKIPPED, String(skipped.reports)).header(SKIPPED_MEMORIES, String(skipped.memories));
        return reply.code(200).type(CONTENT_TYPES.arrow).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      }
      // Streamed: the counts are known only at the end, so they follow the body as trailers.
      if (query.skipBad) reply.trailer(SKIPPED, async () => String(skipped.reports)).trailer(SKIPPED_MEMORIES, async () => String(skipped.memories));
      const lines = engine.exportJsonl(namespace, options);
      const stream = Readable.from(
        (async function* () {
          for await (const line of lines) yield `${line}\n`;
        })(),
      );
      return reply.code(200).type(CONTENT_TYPES.jsonl).send(stream);
    },
  });
}

/** What a queued import needs: the fleet's producer functions, the JSONL reader and the server's open queue. */
type Fleet = Awaited<ReturnType<typeof loadFleet>>;

async function loadFleet(queue: string, location: string, warn: (error: Error) => void) {
  const [fleet, { readJsonlRecords }] = await Promise.all([import("../fleet/queue.js"), import("../pipeline/jsonl.js")]);
  const producer = fleet.openImportQueue(queue, location);
  // The connection retries on its own while Redis is down: its errors are logged at most once a minute, not thrown.
  let warnedAt = -Infinity;
  producer.on("error", (error: Error) => {
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    warn(error);
  });
  return { enqueueImport: fleet.enqueueImport, importIdFor: fleet.importIdFor, readJsonlRecords, producer };
}

/**
 * Rows of an uploaded Arrow file, read once to refuse a damaged file (400) before the job starts.
 * A row's `namespace` is where the importer puts it (as a JSONL line's): a row naming another
 * namespace than the job's refuses the whole upload (400) before anything is written.
 */
async function arrowRows(path: string, namespace: string): Promise<number> {
  const { memoriesFromArrow } = await import("../pipeline/arrow.js");
  let rows = 0;
  try {
    for (const item of memoriesFromArrow(await readFile(path))) {
      rows++;
      if ("record" in item && item.record.namespace !== undefined && item.record.namespace !== namespace) throw otherNamespace(item.where, namespace);
    }
  } catch (error) {
    // Its own code: a damaged or truncated file is E_FORMAT, a bad row E_INVALID_INPUT or E_CHECKSUM (docs/GUARANTEES.md).
    if (error instanceof MemzipError) throw new HttpError(400, error.code, error.message, error.hint);
    throw error;
  }
  return rows;
}

/** Takes the reply over as a Server-Sent Events stream: its raw response, and how an event is written to it. */
function openEventStream(reply: FastifyReply): { raw: FastifyReply["raw"]; send: (event: string, data: unknown) => void } {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-request-id": String(reply.request.id) });
  return { raw, send: (event, data) => void raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) };
}

function streamEvents(reply: FastifyReply, job: Job, view: (job: Job) => JobView, shutdown: AbortSignal): void {
  const { raw, send } = openEventStream(reply);
  send("progress", job.progress);
  if (job.status !== "running") {
    send(job.status, view(job));
    raw.end();
    return;
  }
  const end = () => {
    job.listeners.delete(listener);
    shutdown.removeEventListener("abort", onShutdown);
    if (!raw.writableEnded) raw.end();
  };
  const listener = (event: string, data: unknown) => {
    send(event, data);
    if (event !== "progress") end();
  };
  // The job's own end event closes the stream after shutdown too; this only covers a job that never reports.
  const onShutdown = () => void job.running?.finally(end);
  job.listeners.add(listener);
  shutdown.addEventListener("abort", onShutdown);
  raw.on("close", end);
}

/** How often the events of a job another server runs read its row in the store again. */
const ELSEWHERE_POLL_MS = 1000;

/** The events of a job another server of this store runs: its row read again every second until it ends. */
function followElsewhere(reply: FastifyReply, job: Job, again: () => Promise<Job | undefined>, view: (job: Job) => JobView, shutdown: AbortSignal): void {
  const { raw, send } = openEventStream(reply);
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    clearTimeout(timer);
    shutdown.removeEventListener("abort", end);
    if (!raw.writableEnded) raw.end();
  };
  const report = (current: Job) => {
    send("progress", current.progress);
    if (current.status !== "running") {
      send(current.status, view(current));
      end();
      return;
    }
    timer = setTimeout(() => {
      again().then((next) => (next === undefined ? end() : raw.writableEnded ? undefined : report(next)), end);
    }, ELSEWHERE_POLL_MS);
  };
  shutdown.addEventListener("abort", end);
  raw.on("close", end);
  report(job);
}
