//! Database access: one `Db` handle over SQLite or PostgreSQL, one module per aggregate.
