"""Floor 6: the ``segwright`` command. Thin: parse flags, then call the API or the engine."""
