//! Two classifiers with no neural network, the bar every fine-tuned model must clear: always answering the most
//! frequent class, and multinomial naive Bayes on word counts.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::{Label, Message};

/// The label most of `messages` have: on the SMS collection, ham, right 87% of the time and never finding spam.
pub fn majority_label(messages: &[Message]) -> Label {
    let spam = messages.iter().filter(|m| m.label == Label::Spam).count();
    if 2 * spam > messages.len() {
        Label::Spam
    } else {
        Label::Ham
    }
}

// ANCHOR: words
/// The words of `text` as scikit-learn's `CountVectorizer` finds them by default: lower-cased runs of two or more
/// letters, digits or underscores (its pattern `\b\w\w+\b`). "Call 0800 now!!" is `call`, `0800`, `now`.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
}
// ANCHOR_END: words

// ANCHOR: naive_bayes
/// Multinomial naive Bayes (scikit-learn's `MultinomialNB`, Laplace smoothing α = 1): a message is a bag
/// of words drawn independently from its class's word distribution, so
/// log p(c | x) = log π_c + Σ_w n_w(x) log θ_cw + const with
/// π_c = the share of training messages of class c and
/// θ_cw = (N_cw + α)/(N_c + α|V|), N_cw the count of word w in class c's
/// messages, N_c all of class c's words, V the training vocabulary (unseen words are left out).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NaiveBayes {
    /// log π_c, by [`Label::index`].
    pub log_prior: [f64; 2],
    /// log θ_cw for each word of the vocabulary.
    pub log_likelihood: HashMap<String, [f64; 2]>,
}

impl NaiveBayes {
    pub fn fit(messages: &[Message], alpha: f64) -> Self {
        let mut counts: HashMap<String, [f64; 2]> = HashMap::new();
        let (mut class_words, mut class_messages) = ([0.0; 2], [0.0; 2]);
        for message in messages {
            let c = message.label.index();
            class_messages[c] += 1.0;
            for word in words(&message.text) {
                counts.entry(word).or_default()[c] += 1.0;
                class_words[c] += 1.0;
            }
        }
        let vocabulary = counts.len() as f64;
        let log_likelihood = counts
            .into_iter()
            .map(|(word, n)| {
                let theta = |c: usize| ((n[c] + alpha) / (class_words[c] + alpha * vocabulary)).ln();
                (word, [theta(0), theta(1)])
            })
            .collect();
        let total = messages.len() as f64;
        NaiveBayes {
            log_prior: [(class_messages[0] / total).ln(), (class_messages[1] / total).ln()],
            log_likelihood,
        }
    }

    /// p(ham | x), p(spam | x): the class scores normalised by a softmax.
    pub fn probabilities(&self, text: &str) -> [f64; 2] {
        let mut score = self.log_prior;
        for word in words(text) {
            if let Some(theta) = self.log_likelihood.get(&word) {
                score[0] += theta[0];
                score[1] += theta[1];
            }
        }
        let top = score[0].max(score[1]);
        let (ham, spam) = ((score[0] - top).exp(), (score[1] - top).exp());
        [ham / (ham + spam), spam / (ham + spam)]
    }

    pub fn predict(&self, text: &str) -> Label {
        let [ham, spam] = self.probabilities(text);
        if spam > ham { Label::Spam } else { Label::Ham }
    }
}
// ANCHOR_END: naive_bayes
