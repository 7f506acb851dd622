"""The terminal: the plain and rich views, streamed markdown, the prompt, formatting."""
