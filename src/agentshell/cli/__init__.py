"""Every front end: the Typer commands, the REPL, rendering, json and stream-json output."""
