"""What users bring: MCP servers (more tools), hooks (commands run at the agent's events) and custom slash commands.

Each speaks the format users already have (Codex's ``[mcp_servers.NAME]``, Claude Code's ``.mcp.json``,
hook contract and ``.claude/commands/``), and every tool it adds passes the same permission gate as the
built-in ones. docs/extensions.md is the guide. Importing this package starts nothing and reads nothing.
"""
