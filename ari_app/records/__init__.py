"""Call records: the types producers emit, the SQL schema, and the writer that never blocks."""
