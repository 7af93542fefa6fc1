import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../shared/errors.js';
import { formatIssues } from '../shared/config.js';
import { packageRoot } from '../shared/paths.js';
import { TutorialFile } from '../shared/schemas/catalog.js';

export const DEFAULT_LOCALE = 'en';

/** The validated tutorial catalogue, every locale, read once at start. */
export class Catalog {
  /** Default-locale tutorials in catalogue order. */
  readonly tutorials: readonly TutorialFile[];
  private readonly byLocale: ReadonlyMap<string, ReadonlyMap<string, TutorialFile>>;
  readonly locales: readonly string[];

  constructor(byLocale: Map<string, Map<string, TutorialFile>>) {
    this.byLocale = byLocale;
    this.locales = [...byLocale.keys()].sort();
    this.tutorials = [...(byLocale.get(DEFAULT_LOCALE)?.values() ?? [])].sort((a, b) => a.order - b.order);
  }

  has(id: string): boolean {
    return this.byLocale.get(DEFAULT_LOCALE)?.has(id) ?? false;
  }

  /** The tutorial in `locale`, falling back to the default locale where it has no translation. */
  get(id: string, locale: string): TutorialFile | undefined {
    return this.byLocale.get(locale)?.get(id) ?? this.byLocale.get(DEFAULT_LOCALE)?.get(id);
  }

  /** Every locale's version of one tutorial (for seeding). */
  translations(id: string): Array<[string, TutorialFile]> {
    const out: Array<[string, TutorialFile]> = [];
    for (const locale of this.locales) {
      const t = this.byLocale.get(locale)?.get(id);
      if (t) out.push([locale, t]);
    }
    return out;
  }

  /** Changes whenever any locale's text of the tutorial changes. */
  contentHash(id: string): string {
    return createHash('sha256')
      .update(JSON.stringify(this.translations(id)))
      .digest('hex')
      .slice(0, 16);
  }
}

export function defaultCatalogDir(): string {
  return join(packageRoot(), 'mcp-server', 'catalog');
}

function invalid(message: string): AppError {
  return new AppError('E_CATALOG_INVALID', message, {
    hint: 'Fix the tutorial file named above; shared/schemas/catalog.ts describes the format.',
  });
}

function readTutorial(file: string, id: string): TutorialFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw invalid(`Tutorial file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = TutorialFile.safeParse(raw);
  if (!parsed.success) throw invalid(`Tutorial file is invalid:\n${formatIssues(parsed.error, file)}`);
  if (parsed.data.id !== id)
    throw invalid(`Tutorial file ${file} has id "${parsed.data.id}"; the file must be named ${parsed.data.id}.json.`);
  return parsed.data;
}

/**
 * Reads `<dir>/<locale>/<id>.json`. The default locale defines the catalogue; a translation must
 * match its tutorial's step ids and question kinds, so progress means the same in every language.
 */
export function loadCatalog(dir = defaultCatalogDir()): Catalog {
  if (!existsSync(join(dir, DEFAULT_LOCALE))) throw invalid(`No tutorials found: ${join(dir, DEFAULT_LOCALE)} does not exist.`);
  const byLocale = new Map<string, Map<string, TutorialFile>>();
  const locales = readdirSync(dir).filter((name) => statSync(join(dir, name)).isDirectory());
  for (const locale of [DEFAULT_LOCALE, ...locales.filter((l) => l !== DEFAULT_LOCALE).sort()]) {
    const tutorials = new Map<string, TutorialFile>();
    for (const name of readdirSync(join(dir, locale)).sort()) {
      if (!name.endsWith('.json')) continue;
      const t = readTutorial(join(dir, locale, name), name.slice(0, -'.json'.length));
      tutorials.set(t.id, t);
    }
    byLocale.set(locale, tutorials);
  }
  const base = byLocale.get(DEFAULT_LOCALE) ?? new Map<string, TutorialFile>();
  if (base.size === 0) throw invalid(`No tutorials found in ${join(dir, DEFAULT_LOCALE)}.`);
  const orders = new Map<number, string>();
  for (const t of base.values()) {
    const clash = orders.get(t.order);
    if (clash !== undefined) throw invalid(`Tutorials "${clash}" and "${t.id}" both have order ${t.order}; give each its own position.`);
    orders.set(t.order, t.id);
  }
  for (const [locale, tutorials] of byLocale) {
    if (locale === DEFAULT_LOCALE) continue;
    for (const t of tutorials.values()) {
      const b = base.get(t.id);
      if (!b) throw invalid(`${locale}/${t.id}.json translates a tutorial that ${DEFAULT_LOCALE}/ does not have.`);
      const shape = (x: TutorialFile): string => x.steps.map((s) => `${s.id}:${s.question?.kind ?? '-'}`).join(',');
      if (shape(t) !== shape(b))
        throw invalid(`${locale}/${t.id}.json must have the same step ids and question kinds as ${DEFAULT_LOCALE}/${t.id}.json.`);
    }
  }
  return new Catalog(byLocale);
}
