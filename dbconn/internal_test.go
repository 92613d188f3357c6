package dbconn

import "testing"

func TestLoopbackAndRedact(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true, "": true, "/var/run/postgresql": true,
		"db.example.org": false, "10.1.2.3": false} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
	for in, want := range map[string]string{
		"postgres://u:secret@h/db":     "postgres://u:xxxxx@h/db",
		"mysql://root@h/db":            "mysql://root@h/db",
		"postgres://u:se%zzcret@h/db":  "<unparseable URL>",
		"postgres://u:se#cr:et@h:1/db": "<unparseable URL>",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
