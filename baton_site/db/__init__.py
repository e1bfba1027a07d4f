"""Baton's SQLite backend (see `baton_site.db.sqlite3`); Django loads `<ENGINE>.base`."""
