"""Interfaces of the AI context API: HTTP (:mod:`.http`), MCP (:mod:`.mcp`) and API keys (:mod:`.keys`)."""
