package main

import (
	"fmt"
	"log"
	"os"
	"runtime"
	"strconv"
)

// scaleOut starts two Planners on s's database (PostgreSQL), each with
// GOMAXPROCS=b.procs (as on a container of that many cores; 0: Go's
// default, every core), and measures each workload through one reverse
// proxy, first with the first instance behind it, then with both: the
// same proxy both times, so its cost is in both figures. Both instances
// run throughout; only the proxy's backends change.
func (b *bench) scaleOut(s *side) ([]line, error) {
	env := b.env(s.db)
	if b.procs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(b.procs))
	}
	var inst [2]*server
	for i := range inst {
		if b.cpus > 0 {
			q, err := newCPUQuota(fmt.Sprintf("planner-bench-%d-%d", os.Getpid(), i), b.cpus)
			if err != nil {
				return nil, err
			}
			// Deferred before the instance's stop, so run after it: once
			// stop has waited for the instance, the group is empty.
			defer func() { _ = q.remove() }()
			p, err := start("planner", b.plannerBin, []string{"serve"}, env, "Planner is serving on ", b.logs)
			if err != nil {
				return nil, err
			}
			defer p.stop()
			// It started outside the quota; it is measured inside.
			if err := q.add(p.cmd.Process.Pid); err != nil {
				return nil, fmt.Errorf("cpu quota: %w", err)
			}
			inst[i] = p
			continue
		}
		p, err := start("planner", b.plannerBin, []string{"serve"}, env, "Planner is serving on ", b.logs)
		if err != nil {
			return nil, err
		}
		defer p.stop()
		inst[i] = p
	}
	first, second := inst[0], inst[1]
	var px balancer
	var err error
	via := "HAProxy"
	if b.proxyBin == "go" {
		px, err = newProxy(log.New(b.logs, "proxy: ", log.LstdFlags), first.url)
		via = "the Go proxy"
	} else {
		px, err = newHAProxy(b.proxyBin, b.dir, b.logs, first.url)
	}
	if err != nil {
		return nil, err
	}
	defer px.close()
	events := b.std(px.addr() + "/events")
	events.headers = []string{"Cookie: " + s.cookie}
	procs := fmt.Sprintf("GOMAXPROCS=%d each, %d cores", b.procs, runtime.NumCPU())
	if b.procs == 0 {
		procs = fmt.Sprintf("%d cores each", runtime.NumCPU())
	}
	if b.cpus > 0 {
		procs = fmt.Sprintf("%s cores each, GOMAXPROCS=%d, %d in all", strconv.FormatFloat(b.cpus, 'f', -1, 64), b.procs, runtime.NumCPU())
	}
	var lines []line
	for _, w := range []struct {
		name string
		l    load
	}{
		{"by id", b.std(px.addr() + s.byID)},
		{"create, 64 conns", b.create(px.addr(), s.token)},
		{"signed-in `/events`", events},
	} {
		if err := px.set(first.url); err != nil {
			return nil, err
		}
		one, err := b.measure(s.name(), "proxy -> 1 instance: "+w.name, w.l)
		if err != nil {
			return nil, err
		}
		if err := px.set(first.url, second.url); err != nil {
			return nil, err
		}
		two, err := b.measure(s.name(), "proxy -> 2 instances: "+w.name, w.l)
		if err != nil {
			return nil, err
		}
		ratio := two.okRate() / one.okRate()
		c := cell{text: fmt.Sprintf("%s/s → %s/s, %.3f×", count(one.okRate()), count(two.okRate()), ratio),
			ok: yes(ratio > 1 && one.errors() == 0 && two.errors() == 0)}
		if e := one.errors() + two.errors(); e > 0 {
			c.text += ", " + count(e) + " errors"
		}
		lines = append(lines, on(s.col, fmt.Sprintf("2 instances ÷ 1 via %s (%s): %s", via, procs, w.name), "> 1", c))
	}
	return lines, nil
}
