package handlers

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the CPU time the benchmark process spends, GC and
// background goroutines included, which on a shared machine says more than
// wall time: b.ReportMetric(cpu.perOp(b), "cpu-ns/op") after the loop.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{start: processCPU()} }

func (c cpuClock) perOp(b *testing.B) float64 {
	return float64(processCPU()-c.start) / float64(max(b.N, 1))
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
