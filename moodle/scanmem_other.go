//go:build !linux

package moodle

// scanMemory returns n zeroed values of T and a function to call when
// they are no longer used. Elsewhere than on Linux, the memory is the Go
// heap's (see scanmem_linux.go).
func scanMemory[T any](n int) ([]T, func(), error) {
	return make([]T, max(n, 0)), func() {}, nil
}
