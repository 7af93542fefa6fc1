import { request, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { ListTutorialsOutput } from '../shared/schemas/tools.js';
import { version } from '../shared/version.js';

export interface ProbeResult {
  ok: boolean;
  ms: number;
  /** What failed, for the log and `status`. */
  error?: string;
  tutorials?: number;
}

function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/**
 * A fetch that goes over the daemon's private probe socket (probe-port.ts), on a new connection
 * each time: the global fetch pools keep-alive connections, and a pooled one still leads to the
 * child that served when it was opened. The URL (and so the Host header) stays the public one.
 */
export function fetchViaSocket(socketPath: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const req = new Request(url, init);
    const body = req.body ? Buffer.from(await req.arrayBuffer()) : undefined;
    return new Promise((resolve, reject) => {
      const out = request(
        req.url,
        { socketPath, method: req.method, headers: Object.fromEntries(req.headers), agent: false, signal: req.signal },
        (res) => {
          const status = res.statusCode ?? 502;
          const empty = status === 204 || status === 304 || req.method === 'HEAD';
          if (empty) res.resume();
          const stream = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: toHeaders(res.headers) }));
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  };
}

/**
 * A real MCP request on the current protocol, the way a learner's client makes it:
 * `server/discover` (connect with negotiation), `tools/list`, then a `list_tutorials` call.
 * A process that is alive but cannot answer this is not healthy.
 */
export async function probeMcp(url: string, timeoutMs: number, token: string, socketPath: string): Promise<ProbeResult> {
  const t0 = performance.now();
  const client = new Client({ name: 'mcp-starterd-probe', version: version() }, { versionNegotiation: { mode: 'auto' } });
  const signal = AbortSignal.timeout(timeoutMs);
  const options = { signal, timeout: timeoutMs };
  try {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
        fetch: fetchViaSocket(socketPath),
      }),
      options,
    );
    const negotiated = client.getNegotiatedProtocolVersion();
    if (negotiated !== '2026-07-28') throw new Error(`the server negotiated ${String(negotiated)}, not 2026-07-28`);
    const tools = await client.listTools(undefined, options);
    if (!tools.tools.some((t) => t.name === 'list_tutorials')) throw new Error('tools/list has no list_tutorials');
    const result = await client.callTool({ name: 'list_tutorials', arguments: {} }, options);
    if (result.isError === true) throw new Error('list_tutorials answered with an error');
    const output = ListTutorialsOutput.safeParse(result.structuredContent);
    if (!output.success) throw new Error(`list_tutorials answered with another shape: ${output.error.issues[0]?.message ?? ''}`);
    const tutorials = output.data.tutorials.length;
    if (tutorials === 0) throw new Error('list_tutorials returned no tutorials');
    return { ok: true, ms: performance.now() - t0, tutorials };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: signal.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).message };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * The periodic liveness probe: one `list_tutorials` call on a client that negotiated once and is
 * kept (the protocol is stateless, so it stays valid across child restarts). A failure drops the
 * client, so the next probe negotiates again from scratch. Cheaper than a full probe every 10 s.
 */
export class LivenessProbe {
  private client: Client | undefined;

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly socketPath: string,
  ) {}

  /** Whether a client has negotiated the current protocol with a server of ours (and is kept). */
  get negotiated(): boolean {
    return this.client !== undefined;
  }

  async probe(timeoutMs: number): Promise<ProbeResult> {
    const t0 = performance.now();
    const signal = AbortSignal.timeout(timeoutMs);
    const reused = this.client !== undefined;
    try {
      await this.call(signal, timeoutMs);
    } catch (err) {
      await this.close();
      // A kept connection may have died with a restarted child: one fresh try decides.
      if (!reused || signal.aborted) return this.failed(t0, signal, timeoutMs, err);
      try {
        await this.call(signal, timeoutMs);
      } catch (again) {
        await this.close();
        return this.failed(t0, signal, timeoutMs, again);
      }
    }
    return { ok: true, ms: performance.now() - t0 };
  }

  private async call(signal: AbortSignal, timeoutMs: number): Promise<void> {
    const options = { signal, timeout: timeoutMs };
    if (!this.client) {
      const client = new Client({ name: 'mcp-starterd-probe', version: version() }, { versionNegotiation: { mode: 'auto' } });
      const headers = { authorization: `Bearer ${this.token}` };
      const transport = new StreamableHTTPClientTransport(new URL(this.url), {
        requestInit: { headers },
        fetch: fetchViaSocket(this.socketPath),
      });
      await client.connect(transport, options);
      this.client = client;
    }
    const result = await this.client.callTool({ name: 'list_tutorials', arguments: {} }, options);
    if (result.isError === true) throw new Error('list_tutorials answered with an error');
  }

  private failed(t0: number, signal: AbortSignal, timeoutMs: number, err: unknown): ProbeResult {
    return { ok: false, ms: performance.now() - t0, error: signal.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).message };
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}
