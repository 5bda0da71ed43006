//! Everything that can stop chapter 9's commands, each message naming the fix.

use common::DataError;

use crate::collate::CollateError;
use crate::data::InstructionDataError;

#[derive(Debug, thiserror::Error)]
pub enum InstructError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Examples(#[from] InstructionDataError),
    #[error(transparent)]
    Collate(#[from] CollateError),
}
