"""Front-ends: the CLI, chat, MCP server, eval runner and hook entry."""

from core import __version__

__all__ = ["__version__"]
