"""Statistics as pure functions of arrays: no database, no web."""
