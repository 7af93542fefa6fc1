import { STATUS_CODES } from 'node:http';
import type { HttpErrorBody } from './schemas/http.js';

/** JSON-RPC's "server error" code, used for every HTTP-level refusal. */
const SERVER_ERROR = -32000;

/** The one builder of the HTTP error body (schema: HttpErrorBody). */
export function httpErrorBody(message: string, hint: string): string {
  const body: HttpErrorBody = {
    jsonrpc: '2.0',
    id: null,
    error: { code: SERVER_ERROR, message: `${message} ${hint}`, data: { message, hint } },
  };
  return JSON.stringify(body);
}

/**
 * A whole HTTP/1.1 response with that body, for a raw socket no HTTP server owns (the daemon's
 * listener answers connections it never parses). Always `Connection: close`.
 */
export function rawHttpError(status: number, message: string, hint: string, headers: Record<string, string> = {}): string {
  const body = httpErrorBody(message, hint);
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json',
    'Cache-Control: no-store',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
