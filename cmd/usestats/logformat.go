package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/usestats/usestats/aggregation"
)

// isTerminal reports whether w is a terminal (a console, or a Cygwin or
// MSYS one).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// logFormat settles the --log-format of the command cmd: "text" and
// "json" as given; "auto" (and "") is text on a terminal, JSON otherwise
// (a file, a pipe, a service manager's journal).
func logFormat(cmd, format string, terminal bool) (string, error) {
	switch format {
	case "text", "json":
		return format, nil
	case "auto", "":
		if terminal {
			return "text", nil
		}
		return "json", nil
	}
	return "", aggregation.Errorf(aggregation.EInvalid, "%s: --log-format %q: want text, json or auto", cmd, format)
}

// newLogger returns the command cmd's logger writing to w in format
// (logFormat): slog's TextHandler for text, its JSONHandler for json. bar
// reports whether a progress bar may be drawn on w: only on a terminal
// whose logs are text, so never amid JSON lines nor into a file.
func newLogger(cmd string, w io.Writer, format string, level slog.Level) (log *slog.Logger, bar bool, err error) {
	tty := isTerminal(w)
	format, err = logFormat(cmd, format, tty)
	if err != nil {
		return nil, false, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), tty, nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), false, nil
}
