"""Runtime settings, read from the environment (or a local .env in development)."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./todo.db"  # DATABASE_URL
    openai_api_key: str  # OPENAI_API_KEY, required by the chat agent
    cors_origins: list[str] = ["http://localhost:3000"]  # CORS_ORIGINS, JSON list
    log_level: str = "INFO"  # LOG_LEVEL
    openai_model: str = "gpt-4o-mini"


@lru_cache
def get_settings() -> Settings:
    return Settings()
