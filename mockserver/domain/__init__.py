"""Pure domain state machines of the mock (see README.md)."""
