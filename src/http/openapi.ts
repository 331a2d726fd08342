/**
 * The OpenAPI 3.1 document, generated from the route table and the same zod schemas the
 * service validates with (zod emits JSON Schema 2020-12, the dialect OpenAPI 3.1 uses).
 */
import { z } from 'zod';
import { resultCodes } from '../domain/results.ts';
import type { RouteDefinition } from './routes/index.ts';

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

/** An answer's JSON Schema as the server writes it (zod's output side). */
function answerSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'output',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', enum: [...Object.keys(resultCodes), 'internal_error'] },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'code', 'message'],
        properties: { field: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

export function openApiDocument(
  routes: readonly RouteDefinition[],
  version: string,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path_parameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query_schema = route.query ? jsonSchema(route.query) : undefined;
    const query_parameters = Object.entries((query_schema?.properties as Record<string, unknown>) ?? {}).map(
      ([name, schema]) => ({ name, in: 'query', required: false, schema }),
    );
    const header_parameters = route.idempotent
      ? [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description:
              'A replay with the same body returns the first response (Idempotent-Replayed: true); another body is a 409.',
            schema: { type: 'string', maxLength: 255 },
          },
        ]
      : [];
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}_${route.path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
      security: route.access === 'public' ? [] : [{ bearer: [] }],
      'x-tally-access':
        route.access === 'public'
          ? 'public'
          : `${route.access} key${route.customer ? ' or customer token (own account)' : ''}`,
      parameters: [...path_parameters, ...query_parameters, ...header_parameters],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body) } },
            },
          }
        : {}),
      responses: {
        '200': {
          description: 'OK',
          content: {
            'application/json': { schema: route.answer ? answerSchema(route.answer) : { type: 'object' } },
          },
        },
        default: {
          description: 'A problem: the closed set of codes is listed in docs/errors.md',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tally',
      version,
      description:
        'The credits engine for AI products. Amounts of credits are decimal strings with at most 6 decimals.',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A secret key (sk_…) or a customer token (ct_…)',
        },
      },
      schemas: { Problem: problemSchema },
    },
  };
}
