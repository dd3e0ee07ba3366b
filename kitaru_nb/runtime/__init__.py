"""The engine: flows, checkpoints, the durable context, retries and replay."""
