"""census: scan many packages in parallel into a results store (see docs/census.md)."""
