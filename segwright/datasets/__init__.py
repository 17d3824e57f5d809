"""Floor 4: datasets and transforms. Importing this package registers the built-ins."""
