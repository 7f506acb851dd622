"""The composition root: the CLI and its error boundary, wiring, the REPL, one-shot mode."""
