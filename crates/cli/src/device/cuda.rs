//! Asking the NVIDIA driver which CUDA devices there are, before burn touches it.
//!
//! cudarc loads `libcuda` and NVRTC on first use and panics in burn's device thread when they
//! are missing; here the same calls run under [`guarded::probe`] instead.

use cudarc::driver::result as driver;

use super::guarded;

/// Names of the CUDA devices by ordinal, or why CUDA cannot be used.
pub fn device_names() -> Result<Vec<String>, String> {
    guarded::probe("the CUDA driver", || {
        driver::init().map_err(|err| format!("the NVIDIA driver did not initialise ({err})"))?;
        let count = driver::device::get_count().map_err(|err| format!("cannot count CUDA devices ({err})"))?;
        let names = (0..count)
            .map(|ordinal| {
                driver::device::get(ordinal)
                    .and_then(driver::device::get_name)
                    .map_err(|err| format!("cannot query CUDA device {ordinal} ({err})"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Kernels are compiled at run time: without NVRTC the first op would fail.
        let (mut major, mut minor) = (0, 0);
        // SAFETY: both pointers are valid for writes for the duration of the call.
        let status = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        if status != cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
            return Err(format!("NVRTC (the CUDA runtime compiler) is not usable ({status:?})"));
        }
        Ok(names)
    })
    .map_err(|reason| explain_missing_library(&reason))
}

/// cudarc's "Unable to dynamically load the \"cuda\" shared library - searched for …" as
/// something a user can act on.
fn explain_missing_library(reason: &str) -> String {
    if !reason.starts_with("Unable to dynamically load") {
        return reason.to_string();
    }
    match reason.split('"').nth(1) {
        Some("cuda") => "no NVIDIA driver found (libcuda.so cannot be loaded)".into(),
        Some("nvrtc") => "NVRTC, the CUDA runtime compiler, is not installed (libnvrtc.so cannot be loaded)".into(),
        Some(library) => format!("the CUDA library {library} cannot be loaded"),
        None => reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_driver_is_named() {
        let reason = "Unable to dynamically load the \"cuda\" shared library - searched for library names: [\"libcuda.so\"]. Ensure …";
        assert_eq!(
            explain_missing_library(reason),
            "no NVIDIA driver found (libcuda.so cannot be loaded)"
        );
        assert_eq!(explain_missing_library("timed out"), "timed out");
    }

    #[test]
    fn probing_never_panics() {
        // With or without a driver, the answer is a list or a reason.
        match device_names() {
            Ok(names) => assert!(names.iter().all(|name| !name.is_empty())),
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
}
