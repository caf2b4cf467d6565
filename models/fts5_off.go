//go:build !sqlite_fts5

package models

// SQLiteFTS5 reports whether this binary's SQLite has FTS5, which the search
// index needs. This build lacks it: it was made without the build tag
// sqlite_fts5, so Open refuses SQLite databases (PostgreSQL still works).
const SQLiteFTS5 = false
