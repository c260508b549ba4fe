"""Pure per-event enrichment: user agent, bot verdict, traffic source and journey touchpoint."""
