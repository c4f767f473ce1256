"""Composition: app config, the pipeline stages, the runner and the runtime built from config."""
