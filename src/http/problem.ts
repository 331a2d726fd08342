/**
 * Errors as `application/problem+json` (RFC 9457) with Tally's closed set of codes. A refusal
 * maps through the one table in domain/results.ts; anything else is a bug, answered as a 500
 * without internals.
 */
import { type ResultCode, resultCodes, TallyError } from '../domain/results.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ResultCode | 'internal_error';
  detail: string;
  errors?: { field: string; code: string; message: string }[];
  [extension: string]: unknown;
}

export const problemType = (code: string) => `https://tally.dev/errors#${code}`;

export function problemOf(error: unknown): Problem {
  if (error instanceof TallyError) {
    return {
      ...error.extensions,
      type: problemType(error.code),
      title: resultCodes[error.code].title,
      status: error.status,
      code: error.code,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
    };
  }
  return {
    type: problemType('internal_error'),
    title: 'Internal error',
    status: 500,
    code: 'internal_error',
    detail: 'Tally failed to answer this request; the failure is logged.',
  };
}

export function problemResponse(error: unknown): Response {
  const problem = problemOf(error);
  if (problem.status >= 500) console.error(error);
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
  });
}
