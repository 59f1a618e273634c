//! A work counter for the linearity tests.
//!
//! Every detector, view builder and decoder calls [`add`] with the number
//! of bytes (or table entries) it examines. In test builds the count goes
//! to a thread-local; elsewhere [`add`] compiles to nothing.

#[cfg(test)]
thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Records `n` units of work.
#[inline(always)]
pub(crate) fn add(n: usize) {
    #[cfg(test)]
    STEPS.with(|steps| steps.set(steps.get() + n as u64));
    #[cfg(not(test))]
    let _ = n;
}

/// The work recorded on this thread since the last call, and a reset.
#[cfg(test)]
pub(crate) fn take() -> u64 {
    STEPS.with(|steps| steps.replace(0))
}
