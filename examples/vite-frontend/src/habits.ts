// Habits and their check-ins, persisted in localStorage.

export interface Habit {
  id: string;
  name: string;
  days: string[]; // ISO dates (YYYY-MM-DD) on which the habit was done
}

const KEY = "habit-board/v1";

export function today(date: Date = new Date()): string {
  return date.toISOString().slice(0, 10);
}

export function load(storage: Storage = localStorage): Habit[] {
  try {
    const raw = storage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Habit[]) : defaults();
  } catch {
    return defaults();
  }
}

export function save(habits: Habit[], storage: Storage = localStorage): void {
  storage.setItem(KEY, JSON.stringify(habits));
}

function defaults(): Habit[] {
  return [
    { id: crypto.randomUUID(), name: "Read 20 pages", days: [] },
    { id: crypto.randomUUID(), name: "Walk 30 minutes", days: [] },
  ];
}

export function toggle(habit: Habit, day: string = today()): Habit {
  const days = habit.days.includes(day) ? habit.days.filter((d) => d !== day) : [...habit.days, day];
  return { ...habit, days: days.sort() };
}

/** Consecutive days up to and including `day` (or up to yesterday when today is not done yet). */
export function streak(habit: Habit, day: string = today()): number {
  const done = new Set(habit.days);
  const cursor = new Date(`${day}T00:00:00Z`);
  if (!done.has(day)) cursor.setUTCDate(cursor.getUTCDate() - 1);
  let count = 0;
  while (done.has(today(cursor))) {
    count += 1;
    cursor.setUTCDate(cursor.getUTCDate() - 1);
  }
  return count;
}

/** The last `n` days, oldest first. */
export function lastDays(n: number, day: string = today()): string[] {
  const out: string[] = [];
  const cursor = new Date(`${day}T00:00:00Z`);
  for (let i = 0; i < n; i += 1) {
    out.unshift(today(cursor));
    cursor.setUTCDate(cursor.getUTCDate() - 1);
  }
  return out;
}
