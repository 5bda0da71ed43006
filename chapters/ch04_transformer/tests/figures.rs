//! The chapter's figures in the book are what this crate draws (see `common::figures`).

use std::path::Path;

use common::figures::assert_figure_up_to_date;

#[test]
fn the_gradient_profile_figure_is_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch04_gradient_profiles.svg");
    assert_figure_up_to_date(&committed, |path| {
        transformer::plots::write_gradient_profiles_svg(path).unwrap()
    });
}

#[test]
fn the_architecture_figure_is_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/figures/ch04_architecture.svg");
    assert_figure_up_to_date(&committed, |path| {
        transformer::plots::write_architecture_svg(path).unwrap()
    });
}

#[test]
fn the_loss_curve_is_also_written_as_png() {
    use transformer::training::LossPoint;
    let history: Vec<LossPoint> = (0..100)
        .map(|step| LossPoint {
            step,
            train_loss: 3.0 / (1.0 + step as f32),
            val_loss: (step % 25 == 24).then(|| 3.2 / (1.0 + step as f32)),
            learning_rate: 1e-3,
        })
        .collect();
    let path = std::env::temp_dir().join(format!("ch04-loss-{}.png", std::process::id()));
    transformer::plots::write_loss_curve_png(&path, &history).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    // Width and height, big-endian, in the IHDR chunk.
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 760);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 440);
}

#[test]
fn a_loss_curve_without_finite_losses_is_still_drawn() {
    use transformer::training::LossPoint;
    let point = |step, train_loss| LossPoint {
        step,
        train_loss,
        val_loss: None,
        learning_rate: 1e-3,
    };
    let histories = [vec![], vec![point(0, f32::NAN), point(1, f32::INFINITY)]];
    for (i, history) in histories.into_iter().enumerate() {
        // A degenerate axis range once sent plotters' tick search into an endless loop: a watchdog turns a hang
        // into a failure.
        let path = std::env::temp_dir().join(format!("ch04-empty-loss-{}-{i}.svg", std::process::id()));
        let (done, finished) = std::sync::mpsc::channel();
        let drawing = path.clone();
        std::thread::spawn(move || {
            done.send(transformer::plots::write_loss_curve_svg(&drawing, &history).map_err(|e| e.to_string()))
        });
        let result = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("history {i}: drawing did not finish"));
        result.unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("<svg"));
        std::fs::remove_file(&path).ok();
    }
}
