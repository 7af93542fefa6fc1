import type { IncomingMessage, ServerResponse } from 'node:http';

/** The fetch `Request` the SDK handler takes, with the body the transport has already read. */
export function webRequest(req: IncomingMessage, body: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    signal,
    ...(body.length > 0 ? { body } : {}),
  });
}

/**
 * Writes a fetch `Response` (the SDK handler's answer) to node:http, honouring backpressure, as
 * `toNodeHandler` of @modelcontextprotocol/node does. It is ours so that the transport decides
 * the headers (`Connection: close` in a drain), knows a stream when it sees one, and can end a
 * stream early (`signal`: a revoked learner, a stop) with a clean end of the response.
 */
export async function writeWebResponse(
  res: ServerResponse,
  response: Response,
  { signal, extraHeaders, onStream }: { signal: AbortSignal; extraHeaders: () => Record<string, string>; onStream: () => void },
): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) headers[name] = value;
  Object.assign(headers, extraHeaders());
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  if ((headers['content-type'] ?? '').startsWith('text/event-stream')) onStream();
  const reader = response.body.getReader();
  const stop = new Promise<'stop'>((resolve) => {
    if (signal.aborted) resolve('stop');
    signal.addEventListener('abort', () => resolve('stop'), { once: true });
    res.once('close', () => resolve('stop'));
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), stop]);
      if (next === 'stop' || next.done) break;
      if (!res.write(next.value)) {
        const drained = new Promise<'drain'>((resolve) => res.once('drain', () => resolve('drain')));
        if ((await Promise.race([drained, stop])) === 'stop') break;
      }
    }
  } finally {
    // The SDK's side of a stream ends with it (its listeners, its per-request server).
    await reader.cancel().catch(() => undefined);
    if (!res.writableEnded) res.end();
  }
}
