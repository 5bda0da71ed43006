//! Reading a Hugging Face `model.safetensors` by tensor name, each tensor checked against the shape the model's
//! configuration implies: what chapter 6 (BERT) and chapter 8 (GPT-2) load their pretrained weights with. The
//! format is a JSON header (name, dtype, shape and byte range of every tensor) followed by the raw little-endian
//! numbers; the `safetensors` crate reads it.
//!
//! A model reads its tensors through a [`Scope`], a view of the file under a name prefix, as candle's
//! `VarBuilder::pp`: `weights.scope("bert").pp("encoder.layer").pp(0)` reads `bert.encoder.layer.0.*`, and its
//! `linear`, `embedding` and `layer_norm` build burn's modules from the tensors there.

use std::path::{Path, PathBuf};

use std::fmt::Display;

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors};

/// What can be wrong with a weights file, naming the tensor and what was expected of it.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{path}: not a readable safetensors file ({message}); download it again")]
    Unreadable { path: PathBuf, message: String },
    #[error(
        "{path} has no tensor {name} (expected shape {expected:?}); is it the model its config.json describes? Its \
         tensors are: {available}"
    )]
    MissingTensor {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        available: String,
    },
    #[error("{path}: tensor {name} has shape {actual:?}, but config.json implies {expected:?}")]
    WrongShape {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("{path}: tensor {name} is {dtype}; this loader reads F32 weights (convert with torch_dtype=float32)")]
    WrongDtype { path: PathBuf, name: String, dtype: String },
}

/// The bytes of a `model.safetensors`, read whole (the tensors borrow from them).
pub fn read_safetensors(path: &Path) -> Result<Vec<u8>, WeightsError> {
    std::fs::read(path).map_err(|e| WeightsError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The tensors of one file, by name.
pub struct Weights<'a> {
    tensors: SafeTensors<'a>,
    path: PathBuf,
    device: Device,
}

impl<'a> Weights<'a> {
    /// The tensors in `bytes` (read from `path`, which error messages name), loaded onto `device` when asked for.
    pub fn new(bytes: &'a [u8], path: &Path, device: &Device) -> Result<Self, WeightsError> {
        let tensors = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Unreadable {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(Weights {
            tensors,
            path: path.to_path_buf(),
            device: device.clone(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The tensors whose names start with `prefix.` (every tensor for an empty prefix).
    pub fn scope(&self, prefix: &str) -> Scope<'_> {
        Scope {
            weights: self,
            prefix: prefix.to_string(),
        }
    }

    /// Whether the file holds a tensor called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.tensor(name).is_ok()
    }

    /// Whether any tensor's name starts with `prefix` (`bert.`, `transformer.`: how a task head wraps a model).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.tensors.names().iter().any(|name| name.starts_with(prefix))
    }

    /// The F32 tensor `name`, which must have `shape`.
    pub fn tensor<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>, WeightsError> {
        let view = self.tensors.tensor(name).map_err(|_| {
            let mut names: Vec<&str> = self.tensors.names();
            names.sort_unstable();
            WeightsError::MissingTensor {
                path: self.path.clone(),
                name: name.into(),
                expected: shape.to_vec(),
                available: names.join(", "),
            }
        })?;
        if view.shape() != shape {
            return Err(WeightsError::WrongShape {
                path: self.path.clone(),
                name: name.into(),
                expected: shape.to_vec(),
                actual: view.shape().to_vec(),
            });
        }
        if view.dtype() != Dtype::F32 {
            return Err(WeightsError::WrongDtype {
                path: self.path.clone(),
                name: name.into(),
                dtype: format!("{:?}", view.dtype()),
            });
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Tensor::<1>::from_floats(values.as_slice(), &self.device).reshape(shape))
    }
}

// ANCHOR: scope
/// The tensors of a [`Weights`] file under one name prefix.
#[derive(Clone)]
pub struct Scope<'a> {
    weights: &'a Weights<'a>,
    prefix: String,
}

impl Scope<'_> {
    /// The scope one level down: `name` appended to the prefix, after a dot.
    pub fn pp(&self, name: impl Display) -> Self {
        Scope {
            weights: self.weights,
            prefix: self.name(&name.to_string()),
        }
    }

    /// The full name of the tensor `name` in this scope.
    pub fn name(&self, name: &str) -> String {
        match self.prefix.as_str() {
            "" => name.to_string(),
            prefix => format!("{prefix}.{name}"),
        }
    }

    /// Whether the file holds the tensor `name` of this scope.
    pub fn has(&self, name: &str) -> bool {
        self.weights.has(&self.name(name))
    }

    /// The device the tensors are loaded onto.
    pub fn device(&self) -> &Device {
        self.weights.device()
    }

    /// The F32 tensor `name` of this scope, which must have `shape`.
    pub fn tensor<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Tensor<D>, WeightsError> {
        self.weights.tensor(&self.name(name), shape)
    }

    fn param<const D: usize>(&self, name: &str, shape: [usize; D]) -> Result<Param<Tensor<D>>, WeightsError> {
        Ok(Param::from_tensor(self.tensor(name, shape)?))
    }

    /// A dense layer stored as burn stores it, `weight` `[d_in, d_out]` (TensorFlow's layout, kept by GPT-2's
    /// `Conv1D`), with its `bias`.
    pub fn linear(&self, d_in: usize, d_out: usize) -> Result<Linear, WeightsError> {
        Ok(Linear {
            weight: self.param("weight", [d_in, d_out])?,
            bias: Some(self.param("bias", [d_out])?),
        })
    }

    /// A dense layer stored as PyTorch's `nn.Linear` stores it, `weight` `[d_out, d_in]` (y = x Wᵀ + b),
    /// transposed to burn's `[d_in, d_out]` (y = xW + b), with its `bias`.
    pub fn linear_transposed(&self, d_in: usize, d_out: usize) -> Result<Linear, WeightsError> {
        Ok(Linear {
            weight: Param::from_tensor(self.tensor("weight", [d_out, d_in])?.transpose()),
            bias: Some(self.param("bias", [d_out])?),
        })
    }

    /// A table of `n` vectors of width `d`, `weight` `[n, d]`.
    pub fn embedding(&self, n: usize, d: usize) -> Result<Embedding, WeightsError> {
        Ok(Embedding {
            weight: self.param("weight", [n, d])?,
        })
    }

    /// `norm` (built from the model's configuration, so that its ε is kept) with the file's scale and shift:
    /// `weight` and `bias`, or `gamma` and `beta` in older checkpoints.
    pub fn layer_norm(&self, mut norm: LayerNorm) -> Result<LayerNorm, WeightsError> {
        let [d] = norm.gamma.val().dims();
        let (scale, shift) = if self.has("gamma") {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        norm.gamma = self.param(scale, [d])?;
        norm.beta = Some(self.param(shift, [d])?);
        Ok(norm)
    }
}
// ANCHOR_END: scope
