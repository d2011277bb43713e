//! Parsing tests on small files whose expected records are written out by hand.

use super::*;

fn parse(
    kind: ImportKind,
    bytes: &[u8],
    mappings: &[(String, String)],
) -> Result<ParsedFile, ImportError> {
    parse_file(kind, bytes, mappings, &mut |_| {})
}

fn row_errors(result: Result<ParsedFile, ImportError>) -> Vec<(u64, String)> {
    match result {
        Err(ImportError::Rows(errors)) => errors.into_iter().map(|e| (e.line, e.column)).collect(),
        other => panic!("expected row errors, got {other:?}"),
    }
}

#[test]
fn a_bad_row_is_named_by_line_and_column() {
    let csv = "external_id,name,mrr,renewal_date\nA1,Acme,100,2025-01-01\nA2,Beta,lots,2025-02-30\nA3,Gamma,5,\n";
    let errors = row_errors(parse(ImportKind::Accounts, csv.as_bytes(), &[]));
    assert_eq!(
        errors,
        vec![(3, "mrr".to_owned()), (3, "renewal_date".to_owned())]
    );
}

#[test]
fn shift_jis_files_with_japanese_headers_are_read() {
    let text = "取引先ID,会社名,月額,担当者\r\nJ1,三河屋商店,\"120,000\",\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let parsed = match parse(ImportKind::Accounts, &bytes, &[]) {
        Ok(parsed) => parsed,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(parsed.encoding, SourceEncoding::ShiftJis);
    assert_eq!(parsed.batch.column("name"), "会社名");
    let ImportRecords::Accounts(records) = parsed.batch.records else {
        panic!("not accounts")
    };
    assert_eq!(
        records[0].name,
        Patch::Set(Name::parse("三河屋商店").unwrap_or_else(|e| panic!("{e}")))
    );
    assert_eq!(
        records[0].mrr,
        Patch::Set(Money::new(120_000.0).unwrap_or_else(|e| panic!("{e}")))
    );
    assert_eq!(records[0].owner_email, Patch::Clear);
}

#[test]
fn a_utf8_bom_is_dropped_from_the_first_header() {
    let parsed = parse(
        ImportKind::Accounts,
        "\u{feff}external_id,name\nA1,Acme\n".as_bytes(),
        &[],
    );
    assert!(matches!(
        parsed,
        Ok(ParsedFile {
            encoding: SourceEncoding::Utf8Bom,
            ..
        })
    ));
}

#[test]
fn mappings_rename_columns_and_absent_columns_are_kept() {
    let csv = "Company Key,Company Title,Notes\nK1,Acme,hello\n";
    let mappings = parse_mappings(&[
        "Company Key=external_id".to_owned(),
        "Company Title=name".to_owned(),
    ]);
    let parsed = parse(
        ImportKind::Accounts,
        csv.as_bytes(),
        &mappings.unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.ignored_columns, vec!["Notes".to_owned()]);
    let ImportRecords::Accounts(records) = parsed.batch.records else {
        panic!("not accounts")
    };
    assert_eq!(records[0].mrr, Patch::Keep);
    assert_eq!(records[0].external_id.as_str(), "K1");
}

#[test]
fn missing_required_columns_and_bad_mappings_are_header_errors() {
    assert!(matches!(
        parse(ImportKind::Subscriptions, b"account_id,plan\nA,b\n", &[]),
        Err(ImportError::Header(_))
    ));
    let bad = vec![("x".to_owned(), "nope".to_owned())];
    assert!(matches!(
        parse(ImportKind::Accounts, b"external_id\nA\n", &bad),
        Err(ImportError::Header(_))
    ));
    assert!(matches!(
        parse(ImportKind::Accounts, b"external_id,id\nA,B\n", &[]),
        Err(ImportError::Header(_))
    ));
}

#[test]
fn subscriptions_need_their_required_cells() {
    let csv = "account_external_id,plan,mrr,start_date,end_date\nA,pro,10,2024-01-01,\nA,pro,,2024-01-01,\n";
    assert_eq!(
        row_errors(parse(ImportKind::Subscriptions, csv.as_bytes(), &[])),
        vec![(3, "mrr".to_owned())]
    );
}

#[test]
fn bytes_that_are_no_text_are_refused() {
    assert!(matches!(
        parse(ImportKind::Accounts, &[0x82, 0xff, 0xfe, 0x80], &[]),
        Err(ImportError::Encoding)
    ));
}

#[test]
fn crlf_files_name_the_right_line_even_after_a_quoted_line_break() {
    let csv =
        "external_id,name,mrr\r\nA1,Acme,100\r\nA2,\"Beta\r\nHoldings\",lots\r\nA3,Gamma,x\r\n";
    let errors = row_errors(parse(ImportKind::Accounts, csv.as_bytes(), &[]));
    // The name with a line break is refused too (names are one line).
    let expected = vec![
        (3, "name".to_owned()),
        (3, "mrr".to_owned()),
        (5, "mrr".to_owned()),
    ];
    assert_eq!(errors, expected);
    let lf = csv.replace("\r\n", "\n");
    assert_eq!(
        row_errors(parse(ImportKind::Accounts, lf.as_bytes(), &[])),
        expected
    );
}

#[test]
fn a_row_with_more_cells_than_the_header_is_refused_unless_they_are_empty() {
    let csv = "external_id,name\r\nA1,Acme,,\r\nA2,Beta,surprise\r\n";
    let result = parse(ImportKind::Accounts, csv.as_bytes(), &[]);
    match result {
        Err(ImportError::Rows(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].line, 3);
            assert!(errors[0].reason.contains("3 cells"), "{}", errors[0].reason);
        }
        other => panic!("expected the row refused, got {other:?}"),
    }
}

#[test]
fn a_column_mapped_to_nothing_is_ignored_and_japanese_phase_and_rank_are_read() {
    let csv = "customerID,Partner,フェーズ,ランク\r\nC-1,Yes,更新,ハイタッチ\r\n";
    let mappings =
        match parse_mappings(&["customerID=external_id".to_owned(), "Partner=".to_owned()]) {
            Ok(mappings) => mappings,
            Err(error) => panic!("{error}"),
        };
    let parsed = match parse(ImportKind::Accounts, csv.as_bytes(), &mappings) {
        Ok(parsed) => parsed,
        Err(error) => panic!("{error}"),
    };
    assert_eq!(parsed.ignored_columns, ["Partner"]);
    let ImportRecords::Accounts(records) = parsed.batch.records else {
        panic!("accounts expected");
    };
    assert_eq!(
        records[0].tier,
        mikawaya_domain::Patch::Set(TouchTier::High)
    );
    assert!(matches!(
        parse_mappings(&["=name".to_owned()]),
        Err(ImportError::Header(_))
    ));
}
