import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { configJsonSchema, envNameFor, loadConfig, parseConfig } from '../shared/config.js';
import { AppError, ERROR_CODES } from '../shared/errors.js';
import { dataPaths, ensureDataDir, resolveDataDir } from '../shared/paths.js';
import { ROOT, tempDir, writeConfig } from './helpers.js';

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'E_CONFIG_INVALID');
    assert.equal(err.exitCode, 2);
    return err.message;
  }
  assert.fail('expected a config error');
}

describe('configuration', () => {
  test('every value has a default that follows the operations manual', { timeout: 30_000 }, () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.server.port, 8000);
    assert.deepEqual(c.thresholds, { cpuPercent: 80, memoryPercent: 75, responseTimeMs: 2000, diskPercent: 85 });
    assert.equal(c.drain.timeoutMs, 30_000);
    assert.equal(c.logs.maxBytes, 100 * 1024 * 1024);
    assert.equal(c.logs.keep, 7);
    assert.equal(c.logs.maxTotalBytes, 1024 * 1024 * 1024);
    assert.equal(c.sessions.ttlHours, 24);
    assert.deepEqual(c.schedule, {
      healthReport: '0 * * * *',
      rotateLogs: '0 1 * * *',
      dailyMaintenance: '0 2 * * *',
      weeklyReport: '0 3 * * 0',
      optimizeDb: '30 3 * * 0',
    });
  });

  test('unknown keys are errors that name the key', { timeout: 30_000 }, () => {
    const msg = configError(() => parseConfig({ server: { prot: 80 }, thresholds: { cpuPercent: 500 }, extra: true }, 'my.json'));
    assert.match(msg, /unknown key "server\.prot"/);
    assert.match(msg, /unknown key "extra"/);
    assert.match(msg, /my\.json: thresholds\.cpuPercent/);
  });

  test('a cron pattern with the right shape and no time is refused with croner’s reason', { timeout: 30_000 }, () => {
    const msg = configError(() => parseConfig({ schedule: { healthReport: '99 * * * *' } }, 'my.json'));
    assert.match(msg, /schedule\.healthReport.*Invalid value for minute: 99/);
  });

  test('a log cap smaller than one log file is refused: the current file alone would pass it', { timeout: 30_000 }, () => {
    const msg = configError(() => parseConfig({ logs: { maxBytes: 8 * 1024 * 1024, maxTotalBytes: 4 * 1024 * 1024 } }, 'my.json'));
    assert.match(msg, /logs\.maxTotalBytes.*smaller than logs\.maxBytes/);
    assert.match(
      configError(() => parseConfig({ logs: { maxTotalBytes: 1000 } }, 'my.json')),
      /logs\.maxTotalBytes/,
    );
  });

  test('a config file with bad JSON says so and how to check it', { timeout: 30_000 }, (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'bad.json');
    writeConfig(dir, {});
    const good = loadConfig({ file: join(dir, 'config.json'), env: {} });
    assert.equal(good.server.port, 8000);
    assert.match(
      configError(() => loadConfig({ file, env: {} })),
      /Cannot read config file/,
    );
    const bad = join(dir, 'trailing-comma.json');
    writeFileSync(bad, '{"server": {"port": 80,}}');
    assert.match(
      configError(() => loadConfig({ file: bad, env: {} })),
      /is not valid JSON/,
    );
  });

  test('MCP_STARTER_<KEY> variables override single values, typed by the schema', { timeout: 30_000 }, () => {
    assert.equal(envNameFor(['server', 'maxBodyBytes']), 'MCP_STARTER_SERVER_MAX_BODY_BYTES');
    const c = loadConfig({
      env: {
        MCP_STARTER_SERVER_PORT: '9001',
        MCP_STARTER_SERVER_REQUIRE_AUTH: 'true',
        MCP_STARTER_SERVER_ALLOWED_HOSTS: 'a.example, b.example',
        MCP_STARTER_DATA_DIR: '/ignored/here',
      },
    });
    assert.equal(c.server.port, 9001);
    assert.equal(c.server.requireAuth, true);
    assert.deepEqual(c.server.allowedHosts, ['a.example', 'b.example']);
    assert.match(
      configError(() => loadConfig({ env: { MCP_STARTER_SERVER_PORT: 'eighty' } })),
      /MCP_STARTER_SERVER_PORT="eighty" is not a number/,
    );
    assert.match(
      configError(() => loadConfig({ env: { MCP_STARTER_SERVR_PORT: '1' } })),
      /Unknown environment variable MCP_STARTER_SERVR_PORT/,
    );
  });

  test('etc/mcp-starter.schema.json is generated from the zod schema and not stale', { timeout: 30_000 }, () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'etc', 'mcp-starter.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(committed, JSON.parse(JSON.stringify(configJsonSchema())), 'run `npm run gen:schema` and commit the result');
  });

  test('etc/mcp-starter.example.json is a valid config', { timeout: 30_000 }, () => {
    const c = loadConfig({ file: join(ROOT, 'etc', 'mcp-starter.example.json'), env: {} });
    assert.equal(c.server.port, 8000);
  });
});

describe('data dir', () => {
  test('follows --data-dir, then MCP_STARTER_DATA_DIR, then ./data under npm, then XDG_STATE_HOME', { timeout: 30_000 }, () => {
    assert.equal(resolveDataDir({ flag: 'x', env: { MCP_STARTER_DATA_DIR: '/e' }, cwd: '/c' }), '/c/x');
    assert.equal(resolveDataDir({ env: { MCP_STARTER_DATA_DIR: '/e' }, cwd: '/c' }), '/e');
    assert.equal(resolveDataDir({ env: { npm_package_name: 'mcp-starter' }, cwd: '/c' }), '/c/data');
    assert.equal(resolveDataDir({ env: { XDG_STATE_HOME: '/s' }, cwd: '/c' }), '/s/mcp-starter');
    assert.equal(resolveDataDir({ env: {}, cwd: ROOT }), join(ROOT, 'data'), 'any command run in the checkout');
  });

  test('is created with mode 0700, with its sub-folders', { timeout: 30_000 }, (t) => {
    const dir = join(tempDir(t), 'nested', 'data');
    const paths = ensureDataDir(dir);
    assert.deepEqual(paths, dataPaths(dir));
    for (const d of [paths.dataDir, paths.logsDir, paths.backupsDir, paths.reportsDir]) assert.equal(statSync(d).mode & 0o777, 0o700, d);
  });

  test('a data dir that is a file is a clear error', { timeout: 30_000 }, (t) => {
    const file = writeConfig(tempDir(t), {});
    assert.throws(
      () => ensureDataDir(file),
      (err: unknown) => err instanceof AppError && err.code === 'E_DATA_DIR' && /--data-dir/.test(err.hint ?? ''),
    );
  });
});

test('docs/errors.md lists every error code with what to do', { timeout: 30_000 }, () => {
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    const row = new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*(\\d)\\s*\\|[^|]*\\w[^|]*\\|[^|]*\\w[^|]*\\|`).exec(doc);
    assert.ok(row, `docs/errors.md has no row for ${code}`);
    assert.equal(Number(row[1]), info.exit, `${code}: exit code in docs/errors.md`);
  }
});
