/** The config keys (server section) a refusal names, so the log and the answer say which limit was hit. */
export type LimitName =
  | 'maxRequestsPerConnection'
  | 'maxStreamsPerConnection'
  | 'maxRequestsPerLearner'
  | 'maxStreamsPerLearner'
  | 'maxOpenStreams'
  | 'maxQueuedRequests'
  | 'maxQueueWaitMs'
  | 'reservedRequests';

/** Why a request is not served: its HTTP status, the limit, what to tell the client. */
export interface Refusal {
  status: 429 | 503;
  limit: LimitName;
  message: string;
  hint: string;
  retryAfterS: number;
}

export function refuse(status: 429 | 503, limit: LimitName, message: string, hint: string, retryAfterS = 1): Refusal {
  return { status, limit, message, hint, retryAfterS };
}

/** What requests still waiting get when a stop begins (not a limit hit: the drain logs it). */
export const STOPPING_REFUSAL: Refusal = refuse(
  503,
  'maxQueueWaitMs',
  'The server is stopping and did not start this request.',
  'Retry in a moment; your progress is saved.',
);
