"""One file per schema revision, numbered; each stamps its number in ``schema_version``."""
