//go:build sqlite_fts5

package models

// SQLiteFTS5 reports whether this binary's SQLite has FTS5, which the search
// index needs (mattn/go-sqlite3 compiles it only with the build tag
// sqlite_fts5; every target of the Makefile sets it).
const SQLiteFTS5 = true
