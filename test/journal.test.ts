import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isJournalStream, journalLine } from '../daemon/logs/journal.js';
import { DAEMON_MAIN, FAST_ENV, inState, status, waitForStatus } from './daemon-helpers.js';
import { endProcess, ROOT, tempDir } from './helpers.js';

const T = { timeout: 60_000 };

describe('journald (DESIGN: under systemd the lines also reach the journal)', () => {
  test('each line gets its syslog priority and a readable head, the JSON kept whole', T, () => {
    const line = (o: object): string => journalLine(JSON.stringify(o));
    assert.match(line({ level: 'info', component: 'supervisor', msg: 'server started' }), /^<6>\[supervisor\] server started \{/);
    assert.match(line({ level: 'warn', msg: 'slow' }), /^<4>slow \{/);
    assert.match(line({ level: 'error', msg: 'x' }), /^<3>/);
    assert.match(line({ level: 'fatal', msg: 'x' }), /^<2>/);
    assert.match(line({ level: 50, msg: 'numeric pino level' }), /^<3>/);
    assert.match(line({ level: 'debug', msg: 'x' }), /^<7>/);
    assert.equal(journalLine('TypeError: boom'), '<6>TypeError: boom\n');
    assert.equal(journalLine('{"not json'), '<6>{"not json\n');
    const long = journalLine(JSON.stringify({ level: 'info', msg: 'x'.repeat(40_000) }));
    assert.ok(long.length < 17_000, 'a huge line is cut for the journal (the file keeps it whole)');
    assert.ok(journalLine('a\nb').endsWith('a b\n'), 'one journal entry per line');
  });

  test('JOURNAL_STREAM counts only when it names the stream stderr really is', T, (t) => {
    const file = join(tempDir(t), 'stream');
    const fd = openSync(file, 'w');
    t.after(() => closeSync(fd));
    const st = fstatSync(fd);
    assert.equal(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd), true);
    assert.equal(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }, fd), false, 'stderr redirected elsewhere');
    assert.equal(isJournalStream({ JOURNAL_STREAM: 'garbage' }, fd), false);
    assert.equal(isJournalStream({}, fd), false);
  });

  test('a daemon whose stderr is the journal stream writes its own and the server’s lines there', T, async (t) => {
    const dir = tempDir(t);
    const journal = join(dir, 'journal');
    const fd = openSync(journal, 'w');
    const st = fstatSync(fd);
    const dataDir = join(dir, 'data');
    const proc = spawn(process.execPath, ['--import', 'tsx', DAEMON_MAIN, '--data-dir', dataDir, '--port', '0'], {
      cwd: ROOT,
      env: { ...process.env, ...FAST_ENV, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
      stdio: ['ignore', 'ignore', fd],
    });
    closeSync(fd);
    const socket = join(dataDir, 'mcp-starterd.sock');
    t.after(async () => {
      const childPid = await status(socket).then(
        (s) => s.child.pid,
        () => null,
      );
      await endProcess(proc, 'SIGTERM');
      if (childPid !== null) {
        try {
          process.kill(-childPid, 'SIGKILL');
        } catch {
          // gone with the daemon, as it should be
        }
      }
    });
    await waitForStatus(socket, inState('running'));
    await endProcess(proc, 'SIGTERM');
    const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean);
    assert.ok(
      lines.every((l) => /^<[0-7]>/.test(l)),
      `every line has a priority:\n${lines.filter((l) => !/^<[0-7]>/.test(l)).join('\n')}`,
    );
    assert.ok(
      lines.some((l) => l.includes('"event":"daemon_start"')),
      'the daemon’s own start',
    );
    assert.ok(
      lines.some((l) => l.includes('"name":"mcp-starter-server"')),
      'a line of the server’s',
    );
    assert.ok(
      lines.some((l) => l.includes('"event":"daemon_stop"') || l.includes('stopped')),
      'the daemon’s stop',
    );
    const file = readFileSync(join(dataDir, 'logs', 'mcp-starterd.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.ok(file.length >= lines.length - 5, 'the file has the lines too');
  });
});
