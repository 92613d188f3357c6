package aggregation

// SetSiteBatch makes the service list and answer site users n at a time,
// so that tests see many batches on a small site.
func SetSiteBatch(s *Service, n int) { s.siteBatch = n }
