package compat_test

import "time"

// timeUTC is the fixtures' server time zone: their segments are named in UTC.
func timeUTC() *time.Location { return time.UTC }
