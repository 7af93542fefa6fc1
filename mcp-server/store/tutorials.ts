import type { Db } from '../../shared/sqlite.js';
import { recomputeTutorialStats, SQL_NOW } from '../../shared/learning-db.js';
import type { Catalog } from '../catalog-loader.js';

export interface SeedResult {
  added: number;
  updated: number;
  unchanged: number;
  retired: number;
}

/**
 * Writes the catalogue into `tutorials` and `tutorial_steps`. Content is replaced where it
 * changed; learners' progress and the stats columns are never touched. A tutorial that left the
 * files is marked retired, not deleted, so progress rows keep their meaning.
 */
export function seedTutorials(db: Db, catalog: Catalog): SeedResult {
  const existing = new Map(
    (
      db.prepare('SELECT id, content_hash AS hash, retired_at AS retired FROM tutorials').all() as Array<{
        id: string;
        hash: string;
        retired: string | null;
      }>
    ).map((r) => [r.id, r]),
  );
  const upsert = db.prepare(`
    INSERT INTO tutorials (id, position, level, estimated_minutes, title, step_count, content_hash)
    VALUES (@id, @position, @level, @minutes, @title, @steps, @hash)
    ON CONFLICT (id) DO UPDATE SET position = excluded.position, level = excluded.level,
      estimated_minutes = excluded.estimated_minutes, title = excluded.title, step_count = excluded.step_count,
      content_hash = excluded.content_hash, retired_at = NULL, updated_at = ${SQL_NOW}`);
  const clearSteps = db.prepare('DELETE FROM tutorial_steps WHERE tutorial_id = ?');
  const addStep = db.prepare(`
    INSERT INTO tutorial_steps (tutorial_id, locale, position, step_key, title, body, question, hint)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const retire = db.prepare(`UPDATE tutorials SET retired_at = ${SQL_NOW} WHERE id = ? AND retired_at IS NULL`);
  const result: SeedResult = { added: 0, updated: 0, unchanged: 0, retired: 0 };
  db.transaction(() => {
    for (const t of catalog.tutorials) {
      const hash = catalog.contentHash(t.id);
      const before = existing.get(t.id);
      if (before && before.hash === hash && before.retired === null) {
        result.unchanged++;
        continue;
      }
      if (before) result.updated++;
      else result.added++;
      upsert.run({ id: t.id, position: t.order, level: t.level, minutes: t.estimatedMinutes, title: t.title, steps: t.steps.length, hash });
      clearSteps.run(t.id);
      for (const [locale, tr] of catalog.translations(t.id)) {
        tr.steps.forEach((s, i) =>
          addStep.run(t.id, locale, i, s.id, s.title, s.body, s.question ? JSON.stringify(s.question) : null, s.hint),
        );
      }
    }
    for (const id of existing.keys()) if (!catalog.has(id)) result.retired += retire.run(id).changes;
    recomputeTutorialStats(db);
  })();
  return result;
}

export function countTutorials(db: Db): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM tutorials WHERE retired_at IS NULL').get() as { n: number }).n;
}
