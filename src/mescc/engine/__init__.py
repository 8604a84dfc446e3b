"""One engine for every instrument: compile definitions once, evaluate one patient or a table."""
