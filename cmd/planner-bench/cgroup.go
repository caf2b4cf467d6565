package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuQuota is a CPU cgroup that lets the processes in it run at most
// cores cores' worth of time: the scale-out workload puts each instance
// in one, as a container with that many CPUs, so that on a machine whose
// few cores wrk, the proxy and PostgreSQL share too, a second instance
// brings CPU of its own, as it would on another host.
type cpuQuota struct {
	dir   string
	procs string // the file a pid is written to, to move the process in
}

// cgroupRoots are where cgroup v1's cpu controller or the cgroup v2
// hierarchy is mounted.
var cgroupRoots = []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup"}

// newCPUQuota makes the cgroup name limited to cores cores.
func newCPUQuota(name string, cores float64) (*cpuQuota, error) {
	const period = 100_000 // µs, the kernel's default
	quota := int(cores * period)
	if quota < 1000 {
		return nil, fmt.Errorf("cpu quota: %.3f cores is too little", cores)
	}
	var errs []error
	for _, root := range cgroupRoots {
		if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err == nil { // v1
			dir := filepath.Join(root, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			q := &cpuQuota{dir: dir, procs: filepath.Join(dir, "cgroup.procs")}
			if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o644); err != nil {
				_ = q.remove()
				errs = append(errs, err)
				continue
			}
			return q, nil
		}
		if c, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")); err == nil && strings.Contains(" "+string(c)+" ", " cpu ") { // v2
			dir := filepath.Join(root, name)
			if err := os.Mkdir(dir, 0o755); err != nil {
				errs = append(errs, err)
				continue
			}
			q := &cpuQuota{dir: dir, procs: filepath.Join(dir, "cgroup.procs")}
			if err := os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0o644); err != nil {
				_ = q.remove()
				errs = append(errs, err)
				continue
			}
			return q, nil
		}
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no CPU cgroup controller mounted"))
	}
	return nil, fmt.Errorf("cpu quota (run as root, or --scaleout-cpus 0): %w", errors.Join(errs...))
}

// add moves process pid, every thread of it, into the cgroup.
func (q *cpuQuota) add(pid int) error {
	return os.WriteFile(q.procs, []byte(strconv.Itoa(pid)), 0o644)
}

// remove deletes the cgroup, once its processes have exited.
func (q *cpuQuota) remove() error { return os.Remove(q.dir) }
