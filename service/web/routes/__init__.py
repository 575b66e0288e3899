"""Web pages and their posts, one module per area."""
