"""The command line: `portguard ...` (Typer + Rich)."""
