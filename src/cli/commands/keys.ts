/** `tally keys create|list|revoke`: secret API keys of a database you own (audited as `cli`). */
import type { Command } from 'commander';
import { createKeyCommand, revokeKeyCommand } from '../../service/commands/access.ts';
import { withTally } from '../backend.ts';
import { type Cli, type EngineOptions, engineOptions } from '../program.ts';
import { columns } from '../render.ts';

const SCOPES = ['admin', 'write', 'read'];

export function registerKeyCommands(program: Command, { output }: Cli): void {
  const keys = program.command('keys').description('secret API keys of the local database');

  engineOptions(keys.command('create'))
    .description('make a secret key; its secret is printed this once')
    .requiredOption('--scope <scope>', `one of ${SCOPES.join(', ')}`)
    .option('--name <name>', 'what the key is for', 'made with tally keys create')
    .option('--json', 'print the key as JSON')
    .action(async (options: EngineOptions & { scope: string; name: string; json?: boolean }) => {
      const key = await withTally(options, { access: 'write' }, (tally) =>
        tally.run(createKeyCommand, { scope: options.scope, name: options.name }, { actor: 'cli' }),
      );
      if (options.json) return output.log(JSON.stringify(key, null, 2));
      output.log(`made ${key.scope} key ${key.id} (${key.name})`);
      output.log(`secret (shown once, keep it safe): ${key.secret}`);
    });

  engineOptions(keys.command('list'))
    .description('list the keys (never their secrets)')
    .option('--json', 'print the keys as JSON')
    .action(async (options: EngineOptions & { json?: boolean }) => {
      const listed = await withTally(options, { access: 'read' }, async (tally) => {
        const all = [];
        for await (const key of tally.access.allKeys()) all.push(key);
        return all;
      });
      if (options.json) return output.log(JSON.stringify(listed, null, 2));
      const rows = listed.map((key) => [
        key.id,
        key.scope,
        `${key.secret_prefix}…`,
        key.name,
        key.created_at,
        key.revoked_at ?? '',
      ]);
      for (const line of columns(['id', 'scope', 'secret', 'name', 'created', 'revoked'], rows, new Set()))
        output.log(line);
    });

  engineOptions(keys.command('revoke'))
    .description('revoke a key, and every customer token it minted')
    .argument('<id>', 'the key id (key_…), as `tally keys list` shows it')
    .action(async (id: string, options: EngineOptions) => {
      const revoked = await withTally(options, { access: 'write' }, (tally) =>
        tally.run(revokeKeyCommand, { key: id }, { actor: 'cli' }),
      );
      output.log(revoked.already_revoked ? `${id} was already revoked` : `revoked ${id}`);
    });
}
