//! Small tensors printed for a reader: the shape, then the numbers row by row, rounded and aligned. burn's own
//! `Display` adds the device, the kind and the element type to every print, which buries a 3 × 4 matrix under
//! its description; the notebooks print with [`show`] instead.

use burn::tensor::{DType, Tensor, kind::Basic};

/// `tensor` as its shape followed by its values in nested brackets, one row a line: floats with four decimals,
/// integers and booleans (as 0 and 1) as whole numbers.
///
/// ```
/// use burn::prelude::*;
/// let x = Tensor::<2>::from_floats([[1.0, -0.5], [0.25, 2.0]], &Device::flex());
/// assert_eq!(common::show(&x), "shape [2, 2]\n[[ 1.0000, -0.5000],\n [ 0.2500,  2.0000]]");
/// ```
pub fn show<const D: usize, K: Basic>(tensor: &Tensor<D, K>) -> String {
    let data = tensor.to_data();
    let decimals = match data.dtype() {
        DType::F64 | DType::F32 | DType::Flex32 | DType::F16 | DType::BF16 => 4,
        _ => 0,
    };
    let values: Vec<String> = data.iter::<f64>().map(|v| rounded(v, decimals)).collect();
    let width = values.iter().map(String::len).max().unwrap_or(0);
    let cells: Vec<String> = values.iter().map(|v| format!("{v:>width$}")).collect();
    let dims = data.shape().to_vec();
    format!("shape {dims:?}\n{}", nest(&cells, &dims, 0))
}

/// `value` with `decimals` decimals, without the sign of a negative number that rounds to zero.
fn rounded(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    match text.strip_prefix('-') {
        Some(magnitude) if magnitude.chars().all(|c| c == '0' || c == '.') => magnitude.to_string(),
        _ => text,
    }
}

/// The cells of a tensor of shape `dims` in nested brackets, the innermost level on one line; `depth` is how
/// many brackets are already open.
fn nest(cells: &[String], dims: &[usize], depth: usize) -> String {
    match dims {
        [] => cells.first().cloned().unwrap_or_default(),
        [_] => format!("[{}]", cells.join(", ")),
        [n, rest @ ..] => {
            let size: usize = rest.iter().product();
            // A blank line between blocks of rows for every level below the rows themselves.
            let separator = format!(",\n{}{}", "\n".repeat(rest.len() - 1), " ".repeat(depth + 1));
            let inner: Vec<String> = (0..*n)
                .map(|i| nest(&cells[i * size..(i + 1) * size], rest, depth + 1))
                .collect();
            format!("[{}]", inner.join(&separator))
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use super::show;

    #[test]
    fn every_kind_of_tensor_prints_as_nested_rows() {
        let device = Device::flex();
        let cube = Tensor::<1, Int>::arange(0..8, &device).reshape([2, 2, 2]);
        assert_eq!(
            show(&cube),
            "shape [2, 2, 2]\n[[[0, 1],\n  [2, 3]],\n\n [[4, 5],\n  [6, 7]]]"
        );
        let mask = Tensor::<2, Bool>::from_bool(TensorData::from([[true, false]]), &device);
        assert_eq!(show(&mask), "shape [1, 2]\n[[1, 0]]");
        let row = Tensor::<1>::from_floats([0.5, -12.0, -1e-6], &device);
        assert_eq!(show(&row), "shape [3]\n[  0.5000, -12.0000,   0.0000]");
    }
}
