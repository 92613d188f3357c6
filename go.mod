module github.com/usestats/usestats

go 1.26
