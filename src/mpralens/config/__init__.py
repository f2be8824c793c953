"""The workflow settings: one typed model of every config key, data-set paths and geometry."""
