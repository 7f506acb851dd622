"""The wire protocol, pure: the event-stream decoder and OpenAI chunks to stream events."""
