"""Todo + chat API (Phase III). Entry point: ``uvicorn src.main:app --port 8000``."""

import os

import uvicorn
from fastapi import Depends, FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware

from src.chat import router as chat_router
from src.config import get_settings
from src.store import TodoIn, TodoStore, get_store

settings = get_settings()
app = FastAPI(title="todo-api", version="3.2.0")
app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"])
app.include_router(chat_router)

JWT_SECRET = os.getenv("JWT_SECRET")
if not JWT_SECRET:
    raise RuntimeError("JWT_SECRET must be set")


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.get("/api/todos")
def list_todos(store: TodoStore = Depends(get_store)) -> list[dict]:
    return [t.model_dump() for t in store.list()]


@app.post("/api/todos", status_code=201)
def create_todo(todo: TodoIn, store: TodoStore = Depends(get_store)) -> dict:
    if not todo.title.strip():
        raise HTTPException(status_code=422, detail="title must not be empty")
    return store.add(todo).model_dump()


if __name__ == "__main__":
    uvicorn.run("src.main:app", host="0.0.0.0", port=8000, log_level=settings.log_level.lower())
