//! Running a hardware probe so that it can neither panic nor hang the command.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::Duration;

/// How long a driver may take to answer before the device counts as absent.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `probe` on its own thread and returns its answer. A panic (a driver library that
/// cannot be loaded, for one) becomes `Err` with the panic's message, and no answer within
/// [`PROBE_TIMEOUT`] becomes `Err` too; the stuck thread is left behind. The panic message is
/// not printed: the caller reports the error.
pub fn probe<T: Send + 'static>(
    what: &str,
    probe: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (sender, receiver) = mpsc::channel();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let spawned = std::thread::Builder::new()
        .name(format!("{what} probe"))
        .spawn(move || {
            let answer = catch_unwind(AssertUnwindSafe(probe)).unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown failure".into());
                Err(first_line(&message).to_string())
            });
            // The receiver is gone only after a timeout; nobody is left to tell.
            let _ = sender.send(answer);
        });
    let answer = match spawned {
        Ok(_) => receiver
            .recv_timeout(PROBE_TIMEOUT)
            .unwrap_or_else(|_| Err(format!("{what} did not answer within {} s", PROBE_TIMEOUT.as_secs()))),
        Err(err) => Err(format!("cannot start the {what} probe: {err}")),
    };
    std::panic::set_hook(hook);
    answer
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_pass_through() {
        assert_eq!(probe("test", || Ok(7)), Ok(7));
        assert_eq!(probe::<()>("test", || Err("absent".into())), Err("absent".into()));
    }

    #[test]
    fn a_panic_becomes_its_message() {
        let answer = probe::<()>("test", || panic!("Unable to load libcuda.so\nmore detail"));
        assert_eq!(answer, Err("Unable to load libcuda.so".into()));
    }
}
