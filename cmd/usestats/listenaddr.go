package main

// The listen addresses serve uses when neither --addr nor USESTATS_ADDR
// gives one.
const (
	// defaultAddr serves a real Moodle database on every interface, as
	// a service behind a proxy or in a container is reached.
	defaultAddr = ":8080"
	// defaultDemoAddr keeps the demo, whose printed token reads the whole
	// site, on this machine.
	defaultDemoAddr = "127.0.0.1:8080"
)

// listenAddr is where serve listens: given (--addr, or USESTATS_ADDR) when
// set, else defaultDemoAddr for the demo and defaultAddr against a real
// Moodle database. from says which, for the log.
func listenAddr(given string, demo bool) (addr, from string) {
	switch {
	case given != "":
		return given, "--addr"
	case demo:
		return defaultDemoAddr, "the demo's default: this machine only; give --addr :8080 to listen on every interface"
	default:
		return defaultAddr, "default"
	}
}
