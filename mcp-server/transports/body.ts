import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export type BodyResult = { ok: true; text: string } | { ok: false; reason: 'too-large' | 'timeout' | 'aborted'; bytes: number };

/**
 * Reads a request body, at most `maxBytes`, within `timeoutMs` of being called (Node arms its
 * own `requestTimeout` only on a server that listens; ours is handed its sockets). Stops
 * collecting at the first byte past the limit; what is left is the caller's (`dropRest`).
 */
export function readBody(
  req: IncomingMessage,
  { maxBytes, timeoutMs, signal }: { maxBytes: number; timeoutMs: number; signal: AbortSignal },
): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const finish = (result: BodyResult): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      signal.removeEventListener('abort', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > maxBytes) finish({ ok: false, reason: 'too-large', bytes });
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
    // 'close' before 'end': the client went away mid-body.
    const onClose = (): void => finish({ ok: false, reason: 'aborted', bytes });
    const timer = setTimeout(() => finish({ ok: false, reason: 'timeout', bytes }), timeoutMs);
    timer.unref();
    if (signal.aborted) return onClose();
    signal.addEventListener('abort', onClose, { once: true });
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
  });
}

/**
 * Before an error answer to a request whose body is still arriving: keep reading (and dropping)
 * the rest, up to `maxBytes` more and for at most `timeoutMs`, then close. Node ends a
 * `Connection: close` response with `socket.destroySoon()`, which closes the socket with bytes
 * unread: the kernel then resets the connection, and a client still sending its body sees a
 * torn connection instead of the answer. Here the server only half-closes after the answer.
 */
export function dropRest(req: IncomingMessage, socket: Socket, { maxBytes, timeoutMs }: { maxBytes: number; timeoutMs: number }): void {
  if (req.complete) return;
  let dropped = 0;
  const close = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(close, timeoutMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
  };
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > maxBytes) close();
  });
  // Everything the client sent has been read, so closing now cannot reset the connection.
  req.once('end', () => {
    if (socket.writableFinished) close();
    else socket.once('finish', close);
  });
  req.resume();
}

/** The body as JSON, or undefined when it is empty or not JSON (the SDK answers the text itself, with its -32700). */
export function parseJsonBody(text: string | undefined): unknown {
  if (text === undefined || text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // not JSON: see above
  }
}
