import { listTodos, type Todo } from "@/lib/api";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  let todos: Todo[] = [];
  let error: string | null = null;
  try {
    todos = await listTodos();
  } catch (e) {
    error = e instanceof Error ? e.message : "failed to load todos";
  }

  return (
    <main className="mx-auto max-w-xl p-8">
      <h1 className="text-2xl font-semibold">Todos</h1>
      {error && <p className="text-red-600">{error}</p>}
      <ul className="mt-4 space-y-2">
        {todos.map((t) => (
          <li key={t.id} className={t.done ? "line-through text-gray-500" : ""}>
            {t.title}
          </li>
        ))}
      </ul>
    </main>
  );
}
