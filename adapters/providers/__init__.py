"""Provider protocols: one module per provider, the registry that finds them, and the shared HTTP plumbing."""
