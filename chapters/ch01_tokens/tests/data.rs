use tokens::data::{load_tiny_shakespeare, split_train_val};

#[test]
fn the_split_is_contiguous_and_loses_nothing() {
    let items: Vec<u32> = (0..1000).collect();
    let (train, val) = split_train_val(&items, 0.9);
    assert_eq!((train.len(), val.len()), (900, 100));
    assert_eq!([train, val].concat(), items);
    assert_eq!(val[0], 900);
}

#[test]
fn an_explicit_data_file_is_read_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.txt");
    std::fs::write(&path, "To be, or not to be").unwrap();
    assert_eq!(load_tiny_shakespeare(Some(&path)).unwrap(), "To be, or not to be");
}

#[test]
fn a_missing_explicit_data_file_is_a_clear_error() {
    let err = load_tiny_shakespeare(Some("/no/such/corpus.txt".as_ref())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--data /no/such/corpus.txt: no such file; check the path, or leave --data out to use the cached download"
    );
}
