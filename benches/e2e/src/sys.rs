//! The few Linux calls the benchmark needs: file-descriptor limit, CPU
//! pinning, another process's CPU time and resident memory.

use std::io;
use std::time::Duration;

/// Raise the soft `RLIMIT_NOFILE` to the hard limit (1,000 idle
/// connections need more than the usual 1,024 descriptors on both sides).
pub fn raise_nofile() -> io::Result<()> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable `rlimit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid `rlimit`.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Online CPUs.
pub fn cpus() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Pin the calling process (all threads it starts later too) to `cpu`.
pub fn pin_to(cpu: usize) -> io::Result<()> {
    // SAFETY: an all-zero `cpu_set_t` is the empty set; the CPU_* helpers
    // write inside it, and `sched_setaffinity` reads `size_of` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Have the kernel kill this process when its parent dies (a server child
/// must never outlive a crashed or interrupted benchmark).
pub fn die_with_parent() {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

/// CPU time of a whole process (all its threads).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime {
    /// User plus system time, from the process's CPU-time clock (ns
    /// resolution).
    pub total: Duration,
    /// User time from `/proc/<pid>/stat` (clock-tick resolution).
    pub user: Duration,
    /// System time, likewise.
    pub sys: Duration,
}

impl CpuTime {
    /// The CPU time of process `pid` now.
    pub fn of(pid: u32) -> io::Result<CpuTime> {
        let (utime, stime) = stat_times(pid)?;
        let total = process_clock(pid).unwrap_or(utime + stime);
        Ok(CpuTime { total, user: utime, sys: stime })
    }

    /// What was spent between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            total: self.total.saturating_sub(earlier.total),
            user: self.user.saturating_sub(earlier.user),
            sys: self.sys.saturating_sub(earlier.sys),
        }
    }

    /// The share of system time, 0 to 1 (from the tick counts).
    pub fn sys_share(&self) -> f64 {
        let ticks = (self.user + self.sys).as_secs_f64();
        if ticks > 0.0 {
            self.sys.as_secs_f64() / ticks
        } else {
            0.0
        }
    }
}

/// `clock_gettime` on another process's CPU-time clock.
fn process_clock(pid: u32) -> Option<Duration> {
    let mut clock: libc::clockid_t = 0;
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: `clock` is a valid, writable clock id.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    clock_time(clock)
}

/// CPU time of the calling thread (the load client's).
pub fn thread_cpu() -> Duration {
    clock_time(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or_default()
}

fn clock_time(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(u64::try_from(ts.tv_sec).ok()?, u32::try_from(ts.tv_nsec).ok()?))
}

/// `utime` and `stime` (fields 14 and 15) of `/proc/<pid>/stat`.
fn stat_times(pid: u32) -> io::Result<(Duration, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields from the last ')', where field 3 starts.
    let rest = stat.rfind(')').map(|i| &stat[i + 1..]).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<u64> {
        fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(|| io::Error::other("bad stat"))
    };
    // SAFETY: `sysconf` has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100).max(1);
    let to_time = |t: u64| Duration::from_nanos(t * (1_000_000_000 / hz));
    Ok((to_time(ticks(14 - 3)?), to_time(ticks(15 - 3)?)))
}

/// Resident memory of process `pid` (`VmRSS` of `/proc/<pid>/status`), bytes.
pub fn rss(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other("no VmRSS"))
}

/// The 1-minute load average (other work on the machine skews the figures).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".into())
}
