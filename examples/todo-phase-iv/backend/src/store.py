"""Todo persistence on SQLAlchemy (table created by alembic revision 0001)."""

from pydantic import BaseModel
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, create_engine, insert, select

from src.config import get_settings

metadata = MetaData()
todos = Table(
    "todos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("done", Boolean, nullable=False, default=False),
)


class TodoIn(BaseModel):
    title: str
    done: bool = False


class Todo(TodoIn):
    id: int


class TodoStore:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)

    def list(self) -> list[Todo]:
        with self.engine.connect() as conn:
            return [Todo(**row._mapping) for row in conn.execute(select(todos).order_by(todos.c.id))]

    def add(self, todo: TodoIn) -> Todo:
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(todos).values(**todo.model_dump())).inserted_primary_key[0]
        return Todo(id=new_id, **todo.model_dump())


def get_store() -> TodoStore:
    return TodoStore(get_settings().database_url)
