"""Per-server controls: who may generate where and how much, filters, review, audit."""
