"""The DynamoDB adapters: the tables (pynamodb models, keys, TTLs) and the repositories on them."""
