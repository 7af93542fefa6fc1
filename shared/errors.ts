/**
 * One error type with stable string codes. The table below is the single place that maps a code
 * to its JSON-RPC error code (control API) and to ctl's exit code; docs/errors.md lists every
 * code with what to do about it (a test keeps the two in step).
 */

/** ctl exit codes, as DESIGN.md fixes them. */
export const EXIT = { ok: 0, bad: 1, usage: 2, notRunning: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface CodeInfo {
  readonly rpc: number;
  readonly exit: ExitCode;
}

export const ERROR_CODES = {
  E_USAGE: { rpc: -32602, exit: EXIT.usage },
  E_BAD_PARAMS: { rpc: -32602, exit: EXIT.usage },
  E_CONFIG_INVALID: { rpc: -32001, exit: EXIT.usage },
  E_NOT_RUNNING: { rpc: -32002, exit: EXIT.notRunning },
  E_DATA_DIR: { rpc: -32003, exit: EXIT.usage },
  E_DB: { rpc: -32004, exit: EXIT.bad },
  E_CATALOG_INVALID: { rpc: -32005, exit: EXIT.usage },
  E_UNSAFE_BIND: { rpc: -32006, exit: EXIT.usage },
  E_PORT_IN_USE: { rpc: -32007, exit: EXIT.usage },
  E_ALREADY_RUNNING: { rpc: -32008, exit: EXIT.usage },
  E_UNKNOWN_TUTORIAL: { rpc: -32010, exit: EXIT.bad },
  E_NOT_STARTED: { rpc: -32011, exit: EXIT.bad },
  E_ALREADY_COMPLETED: { rpc: -32012, exit: EXIT.bad },
  E_WRONG_STEP: { rpc: -32013, exit: EXIT.bad },
  E_ANSWER_REQUIRED: { rpc: -32014, exit: EXIT.bad },
  E_UNKNOWN_LEARNER: { rpc: -32015, exit: EXIT.bad },
  E_LEARNER_EXISTS: { rpc: -32016, exit: EXIT.bad },
  E_UNAUTHORIZED: { rpc: -32017, exit: EXIT.bad },
  E_CHILD_STATE: { rpc: -32018, exit: EXIT.bad },
  E_TIMEOUT: { rpc: -32019, exit: EXIT.bad },
  E_BUSY: { rpc: -32020, exit: EXIT.bad },
  E_DISK_FULL: { rpc: -32021, exit: EXIT.bad },
  E_READ_ONLY: { rpc: -32022, exit: EXIT.bad },
  E_LOG_ROTATE: { rpc: -32023, exit: EXIT.bad },
  E_RPC_PARSE: { rpc: -32700, exit: EXIT.usage },
  E_RPC_METHOD: { rpc: -32601, exit: EXIT.usage },
  E_RPC_TOO_LARGE: { rpc: -32600, exit: EXIT.usage },
  E_RPC_INVALID: { rpc: -32600, exit: EXIT.usage },
  E_INTERNAL: { rpc: -32603, exit: EXIT.bad },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  hint?: string;
  cause?: unknown;
}

/** An error with a stable code, a message a beginner can act on, and an optional hint. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
  }

  get rpcCode(): number {
    return ERROR_CODES[this.code].rpc;
  }

  get exitCode(): ExitCode {
    return ERROR_CODES[this.code].exit;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Wraps anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('E_INTERNAL', `Unexpected error: ${message}`, {
    hint: 'This is a bug or an environment problem; the log file has the details.',
    cause: err,
  });
}

/** The text a person reads: the message, then the hint on its own line. */
export function describeError(err: AppError): string {
  return err.hint === undefined ? err.message : `${err.message}\n  → ${err.hint}`;
}
