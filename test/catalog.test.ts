import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkAnswer, choiceIndex, normaliseAnswer } from '../mcp-server/answers.js';
import { defaultCatalogDir, loadCatalog } from '../mcp-server/catalog-loader.js';
import { seedTutorials } from '../mcp-server/store/tutorials.js';
import { AppError } from '../shared/errors.js';
import { openLearningDb } from '../shared/learning-db.js';
import { Question } from '../shared/schemas/catalog.js';
import { UsersStore } from '../shared/store/users.js';
import { tempDir } from './helpers.js';

function copyCatalog(dir: string): string {
  const out = join(dir, 'catalog');
  cpSync(defaultCatalogDir(), out, { recursive: true });
  return out;
}

function catalogError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError && err.code === 'E_CATALOG_INVALID', String(err));
    return err.message;
  }
  assert.fail('expected a catalogue error');
}

describe('the tutorial catalogue', () => {
  test('has at least 6 real tutorials of 4+ steps, each asking checked questions', { timeout: 30_000 }, () => {
    const catalog = loadCatalog();
    assert.ok(catalog.tutorials.length >= 6);
    for (const t of catalog.tutorials) {
      assert.ok(t.steps.length >= 4, t.id);
      assert.ok(
        t.steps.some((s) => s.question),
        `${t.id} asks a question`,
      );
    }
    const ids = catalog.tutorials.map((t) => t.id);
    for (const id of [
      'what-is-mcp',
      'tools',
      'resources',
      'prompts',
      'transports',
      'first-tool',
      'connecting-clients',
      'running-under-a-supervisor',
    ])
      assert.ok(ids.includes(id), id);
    assert.match(JSON.stringify(catalog.get('transports', 'en')), /2026-07-28/);
  });

  test('re-seeding updates content without touching learners\u2019 progress', { timeout: 30_000 }, (t) => {
    const dir = tempDir(t);
    const catDir = copyCatalog(dir);
    const db = openLearningDb(join(dir, 'learn.db'));
    t.after(() => db.close());
    const first = seedTutorials(db, loadCatalog(catDir));
    assert.equal(first.added, loadCatalog(catDir).tutorials.length);
    const ann = new UsersStore(db).ensureLocal('ann');
    db.prepare(
      "INSERT INTO user_progress (user_id, tutorial_id, status, current_step, started_at) VALUES (?, 'tools', 'in_progress', 2, '2026-01-01T00:00:00.000Z')",
    ).run(ann.id);

    const file = join(catDir, 'en', 'tools.json');
    const tools = JSON.parse(readFileSync(file, 'utf8')) as { title: string };
    tools.title = 'Tools, revised';
    writeFileSync(file, JSON.stringify(tools));
    const second = seedTutorials(db, loadCatalog(catDir));
    assert.equal(second.updated, 1);
    assert.equal(second.added, 0);
    assert.equal((db.prepare("SELECT title FROM tutorials WHERE id = 'tools'").get() as { title: string }).title, 'Tools, revised');
    assert.deepEqual(db.prepare('SELECT user_id, tutorial_id, status, current_step FROM user_progress').all(), [
      { user_id: ann.id, tutorial_id: 'tools', status: 'in_progress', current_step: 2 },
    ]);
    assert.equal(seedTutorials(db, loadCatalog(catDir)).unchanged, first.added, 'seeding again changes nothing');
  });

  test('a broken tutorial file is refused with the file and field named', { timeout: 30_000 }, (t) => {
    const catDir = copyCatalog(tempDir(t));
    const file = join(catDir, 'en', 'tools.json');
    const tools = JSON.parse(readFileSync(file, 'utf8')) as { steps: Array<{ hint?: string }> };
    delete tools.steps[1]?.hint;
    writeFileSync(file, JSON.stringify(tools));
    assert.match(
      catalogError(() => loadCatalog(catDir)),
      /tools\.json: steps\.1\.hint/,
    );
    writeFileSync(file, '{');
    assert.match(
      catalogError(() => loadCatalog(catDir)),
      /tools\.json is not valid JSON/,
    );
  });

  test('a language is added with files: a translation falls back per tutorial and must match its steps', { timeout: 30_000 }, (t) => {
    const catDir = copyCatalog(tempDir(t));
    mkdirSync(join(catDir, 'ja'));
    const tools = JSON.parse(readFileSync(join(catDir, 'en', 'tools.json'), 'utf8')) as { title: string; steps: Array<{ id: string }> };
    tools.title = 'ツール';
    writeFileSync(join(catDir, 'ja', 'tools.json'), JSON.stringify(tools));
    const catalog = loadCatalog(catDir);
    assert.equal(catalog.get('tools', 'ja')?.title, 'ツール');
    assert.equal(catalog.get('prompts', 'ja')?.title, catalog.get('prompts', 'en')?.title, 'untranslated tutorials fall back to English');
    tools.steps.pop();
    writeFileSync(join(catDir, 'ja', 'tools.json'), JSON.stringify(tools));
    assert.match(
      catalogError(() => loadCatalog(catDir)),
      /same step ids/,
    );
  });
});

describe('answer checking', () => {
  test('short answers ignore case, spaces and punctuation', { timeout: 30_000 }, () => {
    assert.equal(normaliseAnswer('  Tools/Call! '), 'toolscall');
    const q = Question.parse({ kind: 'text', prompt: 'p', accept: ['tools/call'], explanation: 'e' });
    assert.deepEqual(checkAnswer(q, 'TOOLS / call'), { correct: true });
    assert.deepEqual(checkAnswer(q, 'tools/list'), { correct: false, understood: true });
  });

  test('a choice is named by letter, number or text; anything else is not understood', { timeout: 30_000 }, () => {
    const choices = ['stdio', 'Streamable HTTP', 'carrier pigeon'];
    assert.equal(choiceIndex('b', choices), 1);
    assert.equal(choiceIndex('B)', choices), 1);
    assert.equal(choiceIndex('3', choices), 2);
    assert.equal(choiceIndex('streamable http', choices), 1);
    assert.equal(choiceIndex('f', choices), undefined);
    const q = Question.parse({ kind: 'choice', prompt: 'p', choices, answer: 1, explanation: 'e' });
    assert.deepEqual(checkAnswer(q, 'maybe?'), { correct: false, understood: false });
  });
});
