package main

import (
	"strconv"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// envDefaults reads typed flag defaults from USESTATS_* environment
// variables, keeping the first malformed one as err (an EInvalid error
// naming the variable), so a command checks once after declaring its flags.
type envDefaults struct {
	cmd string // the command, for messages ("serve")
	err error
}

func (e *envDefaults) bad(name, want string) {
	if e.err == nil {
		e.err = aggregation.Errorf(aggregation.EInvalid, "%s: %s is not %s", e.cmd, name, want)
	}
}

// bool is the variable name as a boolean, or def when unset.
func (e *envDefaults) bool(name string, def bool) bool {
	v, err := strconv.ParseBool(envOr(name, strconv.FormatBool(def)))
	if err != nil {
		e.bad(name, "a boolean")
		return def
	}
	return v
}

// int is the variable name as an integer, or def when unset.
func (e *envDefaults) int(name string, def int) int {
	v, err := strconv.Atoi(envOr(name, strconv.Itoa(def)))
	if err != nil {
		e.bad(name, "a number")
		return def
	}
	return v
}

// duration is the variable name as a Go duration, or def when unset.
func (e *envDefaults) duration(name string, def time.Duration) time.Duration {
	v, err := time.ParseDuration(envOr(name, def.String()))
	if err != nil {
		e.bad(name, "a duration (e.g. 10s)")
		return def
	}
	return v
}
