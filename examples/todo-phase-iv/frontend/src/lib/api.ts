export type Todo = { id: number; title: string; done: boolean };

const API_URL = process.env.NEXT_PUBLIC_API_URL ?? "http://localhost:8000";

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${API_URL}${path}`, {
    ...init,
    headers: { "Content-Type": "application/json", ...(init?.headers ?? {}) },
    cache: "no-store",
  });
  if (!res.ok) {
    throw new Error(`${init?.method ?? "GET"} ${path} failed: ${res.status}`);
  }
  return (await res.json()) as T;
}

export function listTodos(): Promise<Todo[]> {
  return request<Todo[]>("/api/todos");
}

export function createTodo(title: string): Promise<Todo> {
  return request<Todo>("/api/todos", { method: "POST", body: JSON.stringify({ title }) });
}

export function sendChat(message: string, conversationId?: string): Promise<{ reply: string; conversation_id: string | null }> {
  return request("/api/chat", { method: "POST", body: JSON.stringify({ message, conversation_id: conversationId ?? null }) });
}
