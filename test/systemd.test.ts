import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from './helpers.js';

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });

test(
  'etc/mcp-starter.service passes systemd-analyze verify and is hardened',
  { timeout: 60_000, skip: analyze.status !== 0 ? 'systemd-analyze is not installed' : false },
  (t) => {
    const unit = readFileSync(join(ROOT, 'etc', 'mcp-starter.service'), 'utf8');
    for (const line of [
      'Restart=on-failure',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/mcp-starter',
      'PrivateTmp=yes',
      'User=mcp-starter',
    ])
      assert.ok(unit.includes(line), line);
    // Verify checks that ExecStart's program exists: point it at this machine's node.
    const dir = tempDir(t);
    const file = join(dir, 'mcp-starter.service');
    writeFileSync(file, unit.replaceAll('/usr/bin/node', process.execPath));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    const complaints = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('mcp-starter.service'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(complaints, []);
  },
);
