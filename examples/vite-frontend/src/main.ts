import "./style.css";
import { Habit, lastDays, load, save, streak, today, toggle } from "./habits";

const app = document.querySelector<HTMLElement>("#app")!;
let habits: Habit[] = load();

function update(next: Habit[]): void {
  habits = next;
  save(habits);
  render();
}

function render(): void {
  const days = lastDays(7);
  const rows = habits
    .map((habit) => {
      const cells = days
        .map((day) => {
          const done = habit.days.includes(day);
          const label = `${habit.name} on ${day}`;
          return `<td><button class="cell${done ? " done" : ""}" data-id="${habit.id}" data-day="${day}" aria-label="${label}">${done ? "✓" : ""}</button></td>`;
        })
        .join("");
      return `<tr><th scope="row">${escape(habit.name)}</th>${cells}<td class="streak">${streak(habit)} 🔥</td>
        <td><button class="remove" data-remove="${habit.id}" aria-label="remove ${escape(habit.name)}">×</button></td></tr>`;
    })
    .join("");
  const head = days.map((d) => `<th scope="col">${d.slice(5)}${d === today() ? "<br>today" : ""}</th>`).join("");
  app.innerHTML = `
    <table>
      <thead><tr><th></th>${head}<th>streak</th><th></th></tr></thead>
      <tbody>${rows || `<tr><td colspan="10" class="empty">no habits yet</td></tr>`}</tbody>
    </table>
    <form id="add"><input name="name" placeholder="new habit" required maxlength="60"><button>Add</button></form>`;
}

function escape(text: string): string {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

app.addEventListener("click", (event) => {
  const target = event.target as HTMLElement;
  const { id, day, remove } = target.dataset;
  if (id && day) update(habits.map((h) => (h.id === id ? toggle(h, day) : h)));
  if (remove) update(habits.filter((h) => h.id !== remove));
});

app.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const name = String(new FormData(form).get("name") ?? "").trim();
  if (name) update([...habits, { id: crypto.randomUUID(), name, days: [] }]);
});

render();
