import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { version } from '../shared/version.js';

export interface ProbeResult {
  ok: boolean;
  ms: number;
  /** What failed, for the log and `status`. */
  error?: string;
  tutorials?: number;
}

/**
 * A real MCP request on the current protocol, the way a learner's client makes it:
 * `server/discover` (connect with negotiation), `tools/list`, then a `list_tutorials` call.
 * A process that is alive but cannot answer this is not healthy.
 */
export async function probeMcp(url: string, timeoutMs: number, token?: string): Promise<ProbeResult> {
  const t0 = performance.now();
  const client = new Client({ name: 'mcp-starterd-probe', version: version() }, { versionNegotiation: { mode: 'auto' } });
  const signal = AbortSignal.timeout(timeoutMs);
  const options = { signal, timeout: timeoutMs };
  try {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: token ? { authorization: `Bearer ${token}` } : {} } }),
      options,
    );
    const negotiated = client.getNegotiatedProtocolVersion();
    if (negotiated !== '2026-07-28') throw new Error(`the server negotiated ${String(negotiated)}, not 2026-07-28`);
    const tools = await client.listTools(undefined, options);
    if (!tools.tools.some((t) => t.name === 'list_tutorials')) throw new Error('tools/list has no list_tutorials');
    const result = await client.callTool({ name: 'list_tutorials', arguments: {} }, options);
    if (result.isError === true) throw new Error('list_tutorials answered with an error');
    const tutorials = (result.structuredContent as { tutorials?: unknown[] } | undefined)?.tutorials?.length ?? 0;
    if (tutorials === 0) throw new Error('list_tutorials returned no tutorials');
    return { ok: true, ms: performance.now() - t0, tutorials };
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: signal.aborted ? `no answer within ${timeoutMs} ms` : (err as Error).message };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Probe outcomes over time, for availability (share of passed probes) over 24 h and 7 days. */
export class ProbeHistory {
  private readonly results: Array<{ atMs: number; ok: boolean }> = [];

  record(ok: boolean, atMs = Date.now()): void {
    this.results.push({ atMs, ok });
    const cutoff = atMs - 7 * 24 * 3_600_000;
    while (this.results.length > 0 && (this.results[0]?.atMs ?? atMs) < cutoff) this.results.shift();
  }

  availability(windowMs: number, nowMs = Date.now()): number | null {
    let ok = 0;
    let total = 0;
    for (const r of this.results) {
      if (nowMs - r.atMs > windowMs) continue;
      total++;
      if (r.ok) ok++;
    }
    return total === 0 ? null : Math.round((ok / total) * 10_000) / 10_000;
  }
}
