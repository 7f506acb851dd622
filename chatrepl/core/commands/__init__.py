"""Slash-commands: the registry (`registry`), and one module of handlers per family."""
