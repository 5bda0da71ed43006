//! The pretraining vocabulary: chapter 1's byte-level BPE, learned on the training text, with BERT's five special
//! tokens after its ids.

use serde::{Deserialize, Serialize};
use tokens::BpeTokenizer;

use crate::error::BertError;
use crate::masking::SpecialTokens;

// ANCHOR: vocab
/// Chapter 1's BPE plus `[PAD] [UNK] [CLS] [SEP] [MASK]` as ids V_BPE, …, V_BPE + 4, so that the BPE's own
/// ids are unchanged. Byte-level BPE encodes any text, so `[UNK]` never occurs: it is there because BERT's
/// vocabulary has it (a WordPiece vocabulary needs it for characters it lacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BertVocab {
    pub bpe: BpeTokenizer,
}

/// The marker a text to fill in writes for a hidden token.
pub const MASK_MARKER: &str = "[MASK]";

impl BertVocab {
    pub fn new(bpe: BpeTokenizer) -> Self {
        Self { bpe }
    }

    pub fn special(&self) -> SpecialTokens {
        let first = self.bpe.vocab_size() as u32;
        SpecialTokens {
            pad: first,
            unk: first + 1,
            cls: first + 2,
            sep: first + 3,
            mask: first + 4,
        }
    }

    /// BPE tokens and the five special tokens.
    pub fn vocab_size(&self) -> usize {
        self.bpe.vocab_size() + 5
    }

    /// `[CLS] text [SEP]`, every `[MASK]` in `text` becoming the mask token. A space just before `[MASK]` goes
    /// into the mask, as RoBERTa's `<mask>` takes it (`lstrip`): byte-level BPE tokens carry their leading space
    /// (" love"), so in "I [MASK] thee" the hidden token is " love", not a lone space followed by "love".
    pub fn encode_with_masks(&self, text: &str) -> Vec<u32> {
        let special = self.special();
        let mut ids = vec![special.cls];
        let pieces: Vec<&str> = text.split(MASK_MARKER).collect();
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                ids.push(special.mask);
            }
            let before_a_mask = i + 1 < pieces.len();
            ids.extend(self.bpe.encode(if before_a_mask {
                piece.strip_suffix(' ').unwrap_or(piece)
            } else {
                piece
            }));
        }
        ids.push(special.sep);
        ids
    }

    /// How token `id` reads: its text (bytes of a cut character shown as U+FFFD), or the special token's name.
    pub fn token_text(&self, id: u32) -> String {
        let special = self.special();
        let names = [
            (special.pad, "[PAD]"),
            (special.unk, "[UNK]"),
            (special.cls, "[CLS]"),
            (special.sep, "[SEP]"),
            (special.mask, MASK_MARKER),
        ];
        match names.iter().find(|(special_id, _)| *special_id == id) {
            Some((_, name)) => name.to_string(),
            None => self.bpe.decode(&[id]).unwrap_or_else(|_| format!("<{id}>")),
        }
    }

    pub fn to_json(&self) -> String {
        let stored = StoredVocab {
            kind: "byte-level-bpe+bert-specials".into(),
            merges: self.bpe.merges().to_vec(),
        };
        serde_json::to_string(&stored).expect("integer pairs always serialize")
    }

    pub fn from_json(json: &str) -> Result<Self, BertError> {
        let stored: StoredVocab = serde_json::from_str(json).map_err(|e| BertError::VocabularyFile(e.to_string()))?;
        let bpe = BpeTokenizer::from_merges(stored.merges).map_err(|e| BertError::VocabularyFile(e.to_string()))?;
        Ok(Self::new(bpe))
    }
}
// ANCHOR_END: vocab

#[derive(Serialize, Deserialize)]
struct StoredVocab {
    kind: String,
    merges: Vec<(u32, u32)>,
}
