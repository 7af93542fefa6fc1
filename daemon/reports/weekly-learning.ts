import { openLearningDb } from '../../shared/learning-db.js';
import { learningPeriod, type LearningPeriod } from '../../shared/reports/learning.js';
import type { WeeklyLearning } from '../../shared/schemas/weekly.js';
import type { WeeklySources } from './weekly.js';

/** Steps listed as "where learners get stuck" in the weekly report. */
const STUCK_STEPS = 5;

/** The most wrong answers and the longest dwell, one row per step, most wrong answers first. */
function stuckSteps(week: LearningPeriod): WeeklyLearning['stuck'] {
  const steps = new Map<string, WeeklyLearning['stuck'][number]>();
  for (const w of week.most_wrong_answers) {
    steps.set(`${w.tutorial_id}\u0000${w.step}`, {
      tutorial: w.tutorial_title,
      step: w.step,
      wrongAnswers: w.wrong_answers,
      dwellSeconds: null,
    });
  }
  for (const d of week.longest_dwell) {
    const key = `${d.tutorial_id}\u0000${d.step}`;
    const entry = steps.get(key) ?? { tutorial: d.tutorial_title, step: d.step, wrongAnswers: 0, dwellSeconds: null };
    entry.dwellSeconds = d.average_dwell;
    steps.set(key, entry);
  }
  return [...steps.values()]
    .sort((a, b) => b.wrongAnswers - a.wrongAnswers || (b.dwellSeconds ?? 0) - (a.dwellSeconds ?? 0))
    .slice(0, STUCK_STEPS);
}

/** The weekly report's learning section from the learning database (the daily report's reader over the week). */
export function weeklyLearning(learningDb: string, locale: string): WeeklySources['learning'] {
  return (days) => {
    const first = days[0];
    const last = days[days.length - 1];
    if (first === undefined || last === undefined) throw new Error('no days to report');
    const db = openLearningDb(learningDb);
    try {
      const week = learningPeriod(db, { from: new Date(first.fromMs), to: new Date(last.toMs), locale });
      const completionsPerDay = days.map(
        (d) => learningPeriod(db, { from: new Date(d.fromMs), to: new Date(d.toMs), locale, limit: 0 }).completions,
      );
      const section: WeeklyLearning = {
        totalLearners: week.total_users,
        newLearners: week.new_learners,
        completions: week.completions,
        activeLearners: week.active_learners,
        tutorials: week.tutorials.map((t) => ({
          id: t.id,
          title: t.title,
          starts: t.starts,
          completions: t.completions,
          completionRate: t.completion_rate,
          averageTimeSeconds: t.average_time,
        })),
        stuck: stuckSteps(week),
      };
      return Promise.resolve({ section, completionsPerDay });
    } finally {
      db.close();
    }
  };
}
