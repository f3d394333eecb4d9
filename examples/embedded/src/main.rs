//! The firmware image: runs the demo (a wscore client and server over an
//! in-memory socket pair) over and over on a Cortex-M4F, with no allocator.
//!
//! Progress and failure are in two statics a debugger can watch
//! (`RUNS`, `FAILURE`); on failure the core stops at a breakpoint (a
//! HardFault, so a halt, without a debugger attached).
//!
//! Built for the host (`cargo run`), the same file is an ordinary program
//! that runs the demo once and prints its report.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
mod firmware {
    use core::sync::atomic::{AtomicU32, Ordering};
    use cortex_m_rt::entry;
    use panic_halt as _;

    /// Demo runs completed successfully.
    #[no_mangle]
    static RUNS: AtomicU32 = AtomicU32::new(0);

    /// 0 while every run succeeded; otherwise 1 + the run that failed.
    #[no_mangle]
    static FAILURE: AtomicU32 = AtomicU32::new(0);

    /// A different 32-byte seed for each run. A real device takes it from
    /// its hardware RNG (the STM32F4's RNG peripheral): mask keys must be
    /// unpredictable to the network.
    #[cfg(not(feature = "size-baseline"))]
    fn seed(run: u32) -> [u8; 32] {
        let mut seed = *b"firmware demo seed: use the HRNG";
        for (byte, add) in seed.iter_mut().zip(run.to_le_bytes()) {
            *byte ^= add;
        }
        seed
    }

    #[entry]
    fn main() -> ! {
        let mut run: u32 = 0;
        loop {
            #[cfg(not(feature = "size-baseline"))]
            let ok = wscore_embedded::demo::run(seed(run)).is_ok();
            // The same loop without the demo: what the image costs without
            // wscore and its driver.
            #[cfg(feature = "size-baseline")]
            let ok = core::hint::black_box(run) != u32::MAX;
            if !ok {
                FAILURE.store(run.wrapping_add(1), Ordering::Relaxed);
                loop {
                    // SAFETY: a breakpoint instruction; it touches no memory.
                    unsafe {
                        core::arch::asm!("bkpt #0");
                    }
                }
            }
            run = run.wrapping_add(1);
            RUNS.store(run, Ordering::Relaxed);
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    match wscore_embedded::demo::run(*b"host run of the demo: not a key!") {
        Ok(report) => println!("demo ok: {report:?}"),
        Err(e) => {
            eprintln!("demo failed: {e:?}");
            std::process::exit(1);
        }
    }
}
