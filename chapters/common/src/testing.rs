//! Helpers the chapters' tests share: every backend made once, and gradients by finite differences.

use std::sync::OnceLock;

use burn::tensor::{Device, Tensor};

use crate::every_backend;

/// [`every_backend`], made once per test binary and shared by all its tests (making a wgpu device is slow).
pub fn backends() -> &'static [(&'static str, Device)] {
    static BACKENDS: OnceLock<Vec<(&'static str, Device)>> = OnceLock::new();
    BACKENDS.get_or_init(every_backend)
}

/// The gradient of `loss` at `x` by central differences: ∂L/∂x_i ≈ (L(x + ε e_i) - L(x - ε e_i)) / (2ε), whose
/// error shrinks like ε².
pub fn central_differences(loss: impl Fn(&[f32]) -> f32, x: &[f32], eps: f32) -> Vec<f32> {
    (0..x.len())
        .map(|i| {
            let (mut plus, mut minus) = (x.to_vec(), x.to_vec());
            plus[i] += eps;
            minus[i] -= eps;
            (loss(&plus) - loss(&minus)) / (2.0 * eps)
        })
        .collect()
}

/// Panics, naming the first input that differs, unless `analytic` and `numeric` gradients agree within `tolerance`.
pub fn assert_gradients_agree(analytic: &[f32], numeric: &[f32], tolerance: f32, what: &str) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: gradients of different lengths");
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() < tolerance,
            "{what}, x[{i}]: autodiff {a}, finite differences {n}"
        );
    }
}

/// Checks the gradient autodiff computes for the input of `layer` (`[batch, t, d_in]` to any `[batch, t, d_out]`)
/// against [`central_differences`], on `device` (which must have autodiff), with the scalar loss
/// L = Σ r ⊙ layer(x) for fixed, uneven weights r (so no two outputs count the same) at a fixed
/// input x.
pub fn assert_input_gradient_matches_finite_differences(
    device: &Device,
    input_shape: [usize; 3],
    layer: impl Fn(Tensor<3>) -> Tensor<3>,
    what: &str,
) {
    let tensor = |data: &[f32], shape: [usize; 3]| Tensor::<1>::from_floats(data, device).reshape(shape);
    let x_data: Vec<f32> = (0..input_shape.iter().product())
        .map(|i| (i as f32 * 0.71).cos())
        .collect();
    let output_shape = layer(tensor(&x_data, input_shape)).dims();
    let r: Vec<f32> = (0..output_shape.iter().product())
        .map(|i| (i as f32 * 1.3).sin())
        .collect();
    let loss = |x: Tensor<3>| (layer(x) * tensor(&r, output_shape)).sum();

    let x = tensor(&x_data, input_shape).require_grad();
    let gradient = x
        .grad(&loss(x.clone()).backward())
        .expect("the loss depends on the input");
    let analytic = gradient.to_data().try_to_vec::<f32>().expect("f32 gradients");
    let numeric = central_differences(|x| loss(tensor(x, input_shape)).into_scalar::<f32>(), &x_data, 1e-2);
    assert_gradients_agree(&analytic, &numeric, 2e-3, what);
}

/// A tensor's values, in row-major order, for comparing with expected numbers.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.to_data().try_to_vec::<f32>().expect("f32 values")
}

/// The largest absolute difference between two equally long lists of numbers.
///
/// # Panics
/// If the lengths differ.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lists of different lengths");
    a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

/// What a command-line program did, for the chapters' suites that run their built binary as a user would.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code: 0 for success, 1 for an error returned from `main`, 2 for clap refusing the flags; a panic
    /// would be 101.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Outcome {
    fn from(output: std::process::Output) -> Self {
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Outcome {
    /// Panics, showing both streams, unless the program exited with 0.
    pub fn succeeded(&self) -> &Self {
        assert_eq!(self.code, Some(0), "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    /// Panics unless the program failed with `code`, saying each of `needles` on stderr.
    pub fn failed(&self, code: i32, needles: &[&str]) {
        assert_eq!(
            self.code,
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        for needle in needles {
            assert!(self.stderr.contains(needle), "{needle:?} not in: {}", self.stderr);
        }
    }
    /// Panics unless every flag named on stderr outside a quoted command is one `program subcommand` accepts
    /// ([`flags_of`]): advice in an error must point to a flag of the command that failed.
    pub fn names_only_flags_of(&self, program: &str, subcommand: &str) -> &Self {
        let accepted = flags_of(program, subcommand);
        for flag in flags_named(&self.stderr) {
            assert!(
                accepted.contains(&flag),
                "{flag} is not a flag of {subcommand}, yet its error names it: {}",
                self.stderr
            );
        }
        self
    }
}

/// Every `--flag` the text names outside `backquoted commands` (another program's, which have flags of their own),
/// once each, in order of appearance (`--lr=0` as `--lr`).
pub fn flags_named(text: &str) -> Vec<String> {
    let outside_quotes: String = text.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    let text = outside_quotes.as_str();
    let mut flags: Vec<String> = Vec::new();
    for (start, _) in text.match_indices("--") {
        let name: String = text[start + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let flag = format!("--{}", name.trim_end_matches('-'));
        let preceded_by_word = text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '-');
        if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !preceded_by_word && !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    flags
}

/// The flags `program subcommand` accepts: the options its `--help` lists, one per line that begins (after its
/// indentation) with `-`, read before the option's description (`program` is the built binary's path).
pub fn flags_of(program: &str, subcommand: &str) -> Vec<String> {
    let output = std::process::Command::new(program)
        .args([subcommand, "--help"])
        .output()
        .expect("the program runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| flags_named(line.split("  ").next().unwrap_or_default()))
        .collect()
}

/// Serves `routes` (a path such as `/a/b.json` and its body) over HTTP on a free loopback port, answering 404 for
/// any other path, for at most `requests` requests; returns the base URL (`http://127.0.0.1:PORT`). Download code is
/// tested against it instead of a real server.
pub fn serve_on_loopback(routes: Vec<(String, Vec<u8>)>, requests: usize) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let base = format!("http://{}", listener.local_addr().expect("a bound address"));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().take(requests).flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("a stream"));
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request_line.split(' ').nth(1).unwrap_or_default();
            let (status, body) = match routes.iter().find(|(route, _)| route == path) {
                Some((_, body)) => ("200 OK", body.as_slice()),
                None => ("404 Not Found", b"no such file".as_slice()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body));
        }
    });
    base
}

#[cfg(test)]
mod tests {
    use super::flags_named;

    #[test]
    fn flags_are_read_outside_quoted_commands_once_each() {
        let text = "pass --lr=0.1 or --out DIR (see `gpt train --bpe 2048`); --out again, not x--y, nor -- alone";
        assert_eq!(flags_named(text), ["--lr", "--out"]);
    }
}
