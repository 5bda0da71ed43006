//! Attention with loops over positions: slow, but each line is one piece of the formula.

// ANCHOR: naive_attention
/// Single-head attention on plain vectors: `q`, `k` hold one row per position (length d_k), `v` one row per
/// position (length d_v). With `causal`, position i only looks at positions j ≤ i.
///
/// Returns the outputs (one row per query) and the attention weights a_ij.
pub fn naive_attention(q: &[Vec<f32>], k: &[Vec<f32>], v: &[Vec<f32>], causal: bool) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let d_k = q.first().map_or(1, Vec::len) as f32;
    let d_v = v.first().map_or(0, Vec::len);
    let mut outputs = Vec::with_capacity(q.len());
    let mut weights = Vec::with_capacity(q.len());
    for (i, q_i) in q.iter().enumerate() {
        let visible = if causal { i + 1 } else { k.len() };
        // Score of each key: s_ij = q_i · k_j / sqrt(d_k).
        let scores: Vec<f32> = k[..visible]
            .iter()
            .map(|k_j| q_i.iter().zip(k_j).map(|(a, b)| a * b).sum::<f32>() / d_k.sqrt())
            .collect();
        // Softmax over the visible keys: a_ij = exp(s_ij - max) / sum_l exp(s_il - max).
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f32 = exps.iter().sum();
        let mut a_i: Vec<f32> = exps.iter().map(|e| e / total).collect();
        // Output: o_i = sum_j a_ij v_j.
        let mut o_i = vec![0.0; d_v];
        for (a_ij, v_j) in a_i.iter().zip(v) {
            for (o, x) in o_i.iter_mut().zip(v_j) {
                *o += a_ij * x;
            }
        }
        a_i.resize(k.len(), 0.0); // masked (future) keys get weight 0
        outputs.push(o_i);
        weights.push(a_i);
    }
    (outputs, weights)
}
// ANCHOR_END: naive_attention
