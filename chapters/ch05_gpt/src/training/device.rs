//! Reading results back from the device, and what to say when the device failed.

use burn::prelude::*;

/// Scalars computed on the device (losses), read in one transfer. If the device failed while computing them (on a
/// GPU: out of memory, or a buffer larger than the adapter allows), the error says so instead of a panic.
pub(crate) fn read_scalars(values: Vec<Tensor<1>>) -> Result<Vec<f32>, String> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let data = Tensor::cat(values, 0)
        .try_into_data()
        .map_err(|e| device_failure(&e.to_string()))?;
    Ok(data.iter::<f32>().collect())
}

/// A clear message for a device that failed: the innermost cause of burn's report (which lists every operation it
/// skipped) and what to do about it.
pub fn device_failure(report: &str) -> String {
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let innermost = lines.iter().rposition(|line| *line == "Caused by:");
    let cause = innermost
        .and_then(|i| lines.get(i + 1))
        .or(lines.first())
        .copied()
        .unwrap_or("unknown error");
    format!(
        "the device failed ({cause}). On a GPU the model may need more memory than the device has, or buffers larger \
         than the adapter allows (software adapters such as llvmpipe allow smaller ones): use a smaller model or batch \
         (--config), or --device cpu"
    )
}
