import type { z } from 'zod';
import { type FieldError, type ResultCode, TallyError } from '../domain/results.ts';
import { RESULT_CODE_PARAM } from './fields.ts';

function fieldCode(issue: z.core.$ZodIssue): ResultCode {
  const params = (issue as { params?: Record<string, unknown> }).params;
  const code = params?.[RESULT_CODE_PARAM];
  return typeof code === 'string' ? (code as ResultCode) : 'invalid_request';
}

function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: path ? `${path}.${key}` : key,
        code: 'invalid_request' as const,
        message: 'is not a known field',
      }));
    }
    return [{ field: path || '(body)', code: fieldCode(issue), message: issue.message }];
  });
}

/**
 * Validates a command's input. A failure is a refusal listing every offending field; when all
 * fields fail for the same named reason (say `amount_not_positive`), that is the refusal's code,
 * otherwise it is `invalid_request`.
 */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // One entry per field: the first check it failed.
  const errors = fieldErrors(result.error.issues).filter(
    (error, index, all) => all.findIndex((other) => other.field === error.field) === index,
  );
  const codes = new Set(errors.map((error) => error.code));
  const code: ResultCode = codes.size === 1 ? [...codes][0]! : 'invalid_request';
  const detail = errors.map((error) => `${error.field} ${error.message}`).join('; ');
  throw new TallyError(code, detail, { errors });
}
