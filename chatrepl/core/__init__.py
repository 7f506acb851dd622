"""The pure core: values, settings, conversation, transcripts, the engine, commands, ports.

Nothing here touches the terminal, the network, the disk or the environment; the
adapters do, behind the Protocols in `ports`.
"""
