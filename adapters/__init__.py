"""Provider adapters: one module per provider (request building and response parsing),
the common result schema, and the collector."""
