/**
 * What the proxy reads and writes of OpenAI's wire format: the request it meters, the error shape
 * the official clients turn into typed errors, the chunks of a stream, and the messages' text the
 * prompt's tokens are counted from.
 */
import { z } from 'zod';
import { PROXY_MAX_TOKENS_LIMIT } from '../domain/limits.ts';
import { TallyError } from '../domain/results.ts';

const content = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
  z.null(),
]);

/** A chat completion request: what Tally needs of it, and everything else passed on untouched. */
export const chatRequest = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(z.looseObject({ role: z.string(), content: content.optional() })).min(1),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().min(1).max(PROXY_MAX_TOKENS_LIMIT).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).max(PROXY_MAX_TOKENS_LIMIT).nullable().optional(),
  n: z.literal(1).nullable().optional(),
  web_search_options: z.looseObject({}).nullable().optional(),
});
export type ChatRequest = z.infer<typeof chatRequest>;

/** OpenAI's usage of a completion. */
export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens?: number;
}

/** One `data:` chunk of a streamed completion, as far as metering reads it. */
export interface CompletionChunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: { index?: number; delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: OpenAiUsage | null;
}

/** The text of every message, for counting the prompt's tokens. */
export function promptText(request: ChatRequest): { text: string; messages: number } {
  const parts: string[] = [];
  for (const message of request.messages) {
    parts.push(message.role);
    const value = message.content;
    if (typeof value === 'string') parts.push(value);
    else if (Array.isArray(value)) for (const part of value) if (part.text) parts.push(part.text);
  }
  return { text: parts.join('\n'), messages: request.messages.length };
}

/** OpenAI's `type` for a status, so the official clients raise the matching typed error. */
const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** An error answered in OpenAI's shape, with Tally's code and the refusal's details beside it. */
export function openAiError(error: unknown): Response {
  if (!(error instanceof TallyError)) {
    console.error(error);
    return Response.json(
      {
        error: {
          message: 'the proxy failed; see the server log',
          type: 'server_error',
          code: 'internal_error',
          param: null,
        },
      },
      { status: 500 },
    );
  }
  const tally = error;
  const status = tally.status;
  const details = { ...tally.extensions, ...(tally.errors ? { errors: tally.errors } : {}) };
  return Response.json(
    {
      error: {
        message: tally.message,
        type: TYPE_BY_STATUS[status] ?? 'server_error',
        code: tally.code,
        param: null,
        ...details,
      },
    },
    { status },
  );
}

/**
 * The events of a Server-Sent Events body (split on a blank line), in the batches they arrived in:
 * the events one read of the body completed. The proxy passes a batch on in one write, not one per
 * event — a provider that sends a stream's last deltas, its usage and `[DONE]` together is
 * answered with one write to the client's socket instead of ten.
 */
export async function* sseEventBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const bytes of body) {
    buffered += decoder.decode(bytes, { stream: true });
    const events: string[] = [];
    for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
      events.push(buffered.slice(0, end));
      buffered = buffered.slice(end + 2);
    }
    if (events.length > 0) yield events;
  }
  if (buffered.trim() !== '') yield [buffered];
}

/** The JSON of an event's `data:` lines, `[DONE]`, or undefined for a comment or keep-alive. */
export function eventData(event: string): string | undefined {
  const lines = event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart());
  return lines.length === 0 ? undefined : lines.join('\n');
}
