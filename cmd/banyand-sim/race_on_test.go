//go:build race

package main

// raceEnabled is true when the tests run under the race detector, so that
// the binary under test is built alike (and from the same build cache).
const raceEnabled = true
