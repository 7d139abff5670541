"""`axoc chat`: a conversation with one agent. `conversation` (the turns, kept in the state
directory), `command` (the terminal and `--json` loops)."""
