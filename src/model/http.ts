import { MemzipError, ErrorCode } from "../errors.js";

export interface HttpOptions {
  timeoutMs: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * POSTs JSON and returns the response, mapping failures to typed errors: a connection that cannot
 * be made or drops, a timeout, 429 and 5xx are `E_BACKEND_UNAVAILABLE` / `E_TIMEOUT` (transient:
 * retried); other 4xx and any redirect (never followed) are `E_BACKEND_REJECTED` (not retried). Node's fetch
 * keeps connections alive and reuses them per origin.
 */
export async function postJson(url: string, body: unknown, options: HttpOptions): Promise<Response> {
  return request(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...options.headers } }, options);
}

export async function getJson(url: string, options: HttpOptions): Promise<unknown> {
  const response = await request(url, { method: "GET", headers: { ...options.headers } }, options);
  return readJson(response, url);
}

async function request(url: string, init: RequestInit, options: HttpOptions): Promise<Response> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    // Redirects are not followed: a request body (memories) and its key go only to the configured URL.
    response = await fetch(url, { ...init, signal, redirect: "manual" });
  } catch (cause) {
    throw transportError(url, cause, timeout.aborted, options.timeoutMs);
  }
  if (response.ok) return response;
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get("location") ?? "";
    await response.body?.cancel().catch(() => undefined);
    throw new MemzipError(ErrorCode.BACKEND_REJECTED, `${url} answered ${response.status}, a redirect${location ? ` to ${location}` : ""}; memzip does not follow redirects`, {
      hint: "Set the backend's url to the address the server redirects to, if you trust it: memories and keys are only sent where the config says.",
      details: { status: response.status, url, location },
    });
  }
  const detail = (await response.text().catch(() => "")).slice(0, 300);
  const retryable = response.status === 429 || response.status >= 500;
  throw new MemzipError(retryable ? ErrorCode.BACKEND_UNAVAILABLE : ErrorCode.BACKEND_REJECTED, `${url} answered ${response.status}${detail ? `: ${detail}` : ""}`, {
    hint: retryable ? "The backend is overloaded or failing; memzip retries, then falls back to the next backend." : "Check the model name, the API key and the request settings.",
    details: { status: response.status, url },
  });
}

export async function readJson(response: Response, url: string): Promise<unknown> {
  try {
    return (await response.json()) as unknown;
  } catch (cause) {
    throw new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `${url} sent a body that is not JSON`, { cause });
  }
}

/** Reads a streamed body line by line (NDJSON, or SSE `data:` lines). */
export async function* readLines(response: Response, url: string, timedOut: () => boolean = () => false): AsyncGenerator<string> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        const line = pending.slice(0, newline).replace(/\r$/, "");
        pending = pending.slice(newline + 1);
        if (line.trim() !== "") yield line;
      }
    }
  } catch (cause) {
    throw transportError(url, cause, timedOut(), 0);
  }
  if (pending.trim() !== "") yield pending;
}

function transportError(url: string, cause: unknown, timedOut: boolean, timeoutMs: number): MemzipError {
  if (timedOut) {
    return new MemzipError(ErrorCode.TIMEOUT, `${url} did not answer within ${timeoutMs} ms`, {
      hint: "Raise the backend's timeoutMs, or check that the server is not overloaded.",
      cause,
    });
  }
  if (cause instanceof MemzipError) return cause;
  const reason = (cause as { cause?: { code?: string; message?: string } }).cause;
  return new MemzipError(ErrorCode.BACKEND_UNAVAILABLE, `cannot reach ${url}: ${reason?.code ?? reason?.message ?? (cause as Error).message}`, {
    hint: "Start the server (ollama serve, or your OpenAI-compatible endpoint) or fix its URL in the config.",
    cause,
  });
}
