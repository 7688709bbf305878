"""CompStat core: configuration, schema, domain rules and statistics."""
