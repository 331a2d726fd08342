/**
 * `GET /docs`: the interactive reference (Scalar's bundle, served by Tally from its own build),
 * or, with `view=plain` or when the dashboard is not built, a readable page rendered from the
 * OpenAPI document on the server. Neither loads anything from elsewhere: the Content-Security-
 * Policy (app.ts) would refuse it, and Scalar is told not to try (no web fonts, no telemetry).
 */
import { z } from 'zod';

export const docsQuery = z.strictObject({ view: z.enum(['interactive', 'plain']).optional() });

/** What the reference is told: read this server's document, and ask nothing of anyone else. */
const API_REFERENCE_CONFIGURATION = {
  url: '/openapi.json',
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  showDeveloperTools: 'never',
  // Its "Ask AI" would send the document to Scalar's servers.
  agent: { disabled: true },
};

/** The page that starts the reference: its configuration rides in a data attribute (no inline script). */
export function apiReferencePage(script: string): string {
  const configuration = escapeHtml(JSON.stringify(API_REFERENCE_CONFIGURATION));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tally API reference</title>
</head>
<body>
<noscript>This reference needs JavaScript; the <a href="/docs?view=plain">plain reference</a> does not.</noscript>
<script id="api-reference" data-url="/openapi.json" data-configuration="${configuration}"></script>
<script src="${escapeHtml(script)}"></script>
</body>
</html>`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

interface Operation {
  summary: string;
  tags: string[];
  'x-tally-access': string;
  requestBody?: { content: { 'application/json': { schema: unknown } } };
  parameters: { name: string; in: string }[];
}

export function docsPage(document: Record<string, unknown>): string {
  const info = document.info as { title: string; version: string; description: string };
  const paths = document.paths as Record<string, Record<string, Operation>>;
  const sections = Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const parameters = operation.parameters.filter((parameter) => parameter.in !== 'path');
      const body = operation.requestBody?.content['application/json'].schema;
      return `<section>
  <h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
  <p>${escapeHtml(operation.summary)} <small>(${escapeHtml(operation['x-tally-access'])})</small></p>
  ${parameters.length ? `<p>Parameters: ${parameters.map((parameter) => `<code>${escapeHtml(parameter.name)}</code> (${parameter.in})`).join(', ')}</p>` : ''}
  ${body ? `<details><summary>Request body</summary><pre>${escapeHtml(JSON.stringify(body, null, 2))}</pre></details>` : ''}
</section>`;
    }),
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} API reference</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
  section { border-top: 1px solid #ddd; padding: 0.5rem 0; }
  .method { display: inline-block; min-width: 4.5rem; font-size: 0.8rem; padding: 0.1rem 0.4rem; border-radius: 4px; color: #fff; background: #444; text-align: center; }
  .get { background: #1f6f43; } .post { background: #1d4f91; } .put { background: #7a4b00; } .delete { background: #8b1e1e; }
  pre { background: #f5f5f5; padding: 0.75rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>${escapeHtml(info.title)} API <small>${escapeHtml(info.version)}</small></h1>
<p>${escapeHtml(info.description)} Authenticate with <code>Authorization: Bearer &lt;key or token&gt;</code>.
The machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</p>
${sections.join('\n')}
</body>
</html>`;
}
