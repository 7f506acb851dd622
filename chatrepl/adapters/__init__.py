"""Adapters to the world: HTTP, session files, platform paths, the llama.cpp server."""
