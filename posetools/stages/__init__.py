"""Pipeline stages: thin I/O wrappers around pure array functions."""
