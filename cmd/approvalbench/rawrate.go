package main

import "time"

// rawPair reads the two samples of a raw rate taken around a phase: each
// rate, their mean (what the phase's ratio divides by) and the CPU of one
// raw operation over both.
func rawPair(before, after signs) (beforeRate, afterRate, mean, cpuMs float64) {
	beforeRate, afterRate = before.rate(), after.rate()
	mean = (beforeRate + afterRate) / 2
	if n := before.n + after.n; n > 0 {
		cpuMs = ms(before.cpu+after.cpu) / float64(n)
	}
	return beforeRate, afterRate, mean, cpuMs
}

// cpuSplit is a timed window's CPU: the cores approvald, PostgreSQL +
// Redis and the harness used, and each one's milliseconds per operation.
type cpuSplit struct {
	serverCores, depsCores, harnessCores float64
	serverMs, depsMs, harnessMs          float64
}

func splitCPU(cpu cpuUse, harness time.Duration, ops int) cpuSplit {
	var s cpuSplit
	if w := cpu.wall.Seconds(); w > 0 {
		s.serverCores, s.depsCores, s.harnessCores = cpu.server.Seconds()/w, cpu.deps.Seconds()/w, harness.Seconds()/w
	}
	if ops > 0 {
		n := float64(ops)
		s.serverMs, s.depsMs, s.harnessMs = ms(cpu.server)/n, ms(cpu.deps)/n, ms(harness)/n
	}
	return s
}
