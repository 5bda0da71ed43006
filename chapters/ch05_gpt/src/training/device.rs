//! Reading results back from the device.

use burn::prelude::*;

use crate::GptError;

/// Scalars computed on the device (losses), read in one transfer. If the device failed while computing them (on a
/// GPU: out of memory, or a buffer larger than the adapter allows), the error says so instead of a panic.
pub(crate) fn read_scalars(values: Vec<Tensor<1>>) -> Result<Vec<f32>, GptError> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let data = Tensor::cat(values, 0)
        .try_into_data()
        .map_err(|e| GptError::device_failed(&e.to_string()))?;
    Ok(data.iter::<f32>().collect())
}
