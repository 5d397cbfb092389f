"""SQLite persistence through sqlite-utils: schema, migrations, one store per domain."""
