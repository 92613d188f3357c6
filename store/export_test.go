package store

import "github.com/usestats/usestats/dbconn"

// RawDB exposes the store's connection to tests that read rows directly.
func RawDB(s *Store) *dbconn.DB { return s.db }

// MigrationNames lists the embedded migrations of an engine.
func MigrationNames(kind dbconn.Kind) ([]string, error) {
	ms, err := migrations(kind)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range ms.Sorted() {
		names = append(names, m.Name+"_"+m.Comment)
	}
	return names, nil
}
