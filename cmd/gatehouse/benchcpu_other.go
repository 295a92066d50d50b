//go:build !unix

package main

import "time"

// processCPU is unknown here: the floors fall back to wall-clock rates.
func processCPU() time.Duration { return 0 }
