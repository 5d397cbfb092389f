"""SQLite persistence through sqlite-utils: schema, migrations, one store per domain;
``lock``: one running bot per database."""
