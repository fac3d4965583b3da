//! Servers that live as long as the test process: statics are never dropped, so an atexit hook
//! drops them, which stops each server and removes its files.

use std::any::Any;
use std::sync::{Mutex, Once};

static KEPT: Mutex<Vec<Box<dyn Any + Send>>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();

extern "C" fn drop_kept() {
    if let Ok(mut kept) = KEPT.lock() {
        // Last started, first stopped.
        while let Some(thing) = kept.pop() {
            drop(thing);
        }
    }
}

/// Keeps `thing` (a throwaway server) until the process exits, then drops it.
pub fn keep_until_exit(thing: impl Any + Send) {
    ATEXIT.call_once(|| {
        // SAFETY: registering a plain extern "C" function that captures nothing.
        unsafe {
            libc::atexit(drop_kept);
        }
    });
    KEPT.lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(Box::new(thing));
}
