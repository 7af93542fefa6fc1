import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { endProcess, LineStream, ROOT, SERVER_MAIN } from './helpers.js';

/**
 * A stdio client transport that keeps every line the server wrote to stdout, so a test can
 * prove stdout carried nothing but JSON-RPC. The real SDK client runs over it.
 */
export class RecordingStdioTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  readonly stdout: LineStream;
  readonly stderr: LineStream;

  constructor(readonly proc: ChildProcess) {
    this.stdout = new LineStream(proc.stdout);
    this.stderr = new LineStream(proc.stderr);
    proc.once('exit', () => this.onclose?.());
  }

  static spawn(t: TestContext, dataDir: string): RecordingStdioTransport {
    const proc = spawn(process.execPath, ['--import', 'tsx', SERVER_MAIN, '--data-dir', dataDir], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    t.after(() => endProcess(proc));
    return new RecordingStdioTransport(proc);
  }

  start(): Promise<void> {
    this.stdout.on((line) => {
      try {
        this.onmessage?.(JSON.parse(line) as JSONRPCMessage);
      } catch (err) {
        this.onerror?.(err as Error);
      }
      return false;
    });
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    this.proc.stdin?.write(`${JSON.stringify(message)}\n`);
    return Promise.resolve();
  }

  /** Closes stdin, which must end the server; resolves with its exit code. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = once(this.proc, 'exit');
    this.proc.stdin?.end();
    await exited;
  }
}
