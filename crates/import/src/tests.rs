//! Parsing tests on small files whose expected records are written out by hand.

use super::*;

fn parse(
    kind: ImportKind,
    bytes: &[u8],
    mappings: &[(String, String)],
) -> Result<ParsedFile, ImportError> {
    let mapping = Mapping {
        map: mappings.iter().map(|(s, t)| format!("{s}={t}")).collect(),
        ..Mapping::default()
    };
    parse_with(kind, bytes, mapping)
}

fn day(raw: &str) -> Date {
    raw.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn parse_with(kind: ImportKind, bytes: &[u8], mapping: Mapping) -> Result<ParsedFile, ImportError> {
    let options = ImportOptions {
        mapping,
        as_of: day("2020-06-30"),
    };
    parse_file(kind, bytes, &options, &mut |_| {})
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
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

#[test]
fn one_column_fills_several_and_values_are_translated() {
    // The Telco export's shape: no name column, a Partner column that is not a reseller.
    let csv =
        "customerID,Partner,Contract,MonthlyCharges\r\n7590-VHVEG,Yes,Month-to-month,29.85\r\n";
    let parsed = parse_with(
        ImportKind::Accounts,
        csv.as_bytes(),
        Mapping {
            map: strings(&[
                "customerID=external_id",
                "customerID=name",
                "Contract=tier",
                "MonthlyCharges=mrr",
            ]),
            values: strings(&["Partner:Yes=", "Contract:month-to-month=tech"]),
            currency: Some("usd".to_owned()),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Partner is read by its alias, and every Yes is translated to empty: cleared, not
    // a reseller that does not exist.
    let ImportRecords::Accounts(records) = parsed.batch.records else {
        panic!("accounts expected")
    };
    assert_eq!(records[0].external_id.as_str(), "7590-VHVEG");
    assert_eq!(
        records[0].name,
        Patch::Set(Name::parse("7590-VHVEG").unwrap_or_else(|e| panic!("{e}")))
    );
    assert_eq!(records[0].partner_external_id, Patch::Clear);
    assert_eq!(records[0].tier, Patch::Set(TouchTier::Tech));
    assert_eq!(
        records[0].currency,
        Patch::Set(Currency::parse("USD").unwrap_or_else(|e| panic!("{e}")))
    );
}

#[test]
fn yen_amounts_name_their_currency_and_plans_and_owners_come_in_any_language() {
    // Shift_JIS: ¥ cannot be encoded, so Japanese exports write ￥ or a backslash.
    let text = "顧客コード,会社名,月額,プラン,担当者\r\nJ-1,三河屋,\"\\70,000\",プロ,山田 太郎\r\nJ-2,伊勢屋,\"￥１２０，０００\",スタンダード,aoi@example.com\r\nJ-3,越後屋,5000,pro,\r\n";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    let parsed = parse_with(
        ImportKind::Accounts,
        &bytes,
        Mapping {
            values: strings(&["プラン:スタンダード=standard"]),
            currency: Some("JPY".to_owned()),
            ..Mapping::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let ImportRecords::Accounts(records) = parsed.batch.records else {
        panic!("accounts expected")
    };
    let jpy = Patch::Set(Currency::parse("JPY").unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(
        records[0].mrr,
        Patch::Set(Money::new(70_000.0).unwrap_or_else(|e| panic!("{e}")))
    );
    assert_eq!(records[0].currency, jpy);
    assert_eq!(
        records[1].mrr,
        Patch::Set(Money::new(120_000.0).unwrap_or_else(|e| panic!("{e}")))
    );
    assert_eq!(records[2].currency, jpy, "the import's default");
    let name = |raw: &str| Name::parse(raw).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records[0].plan, Patch::Set(PlanRef::Label(name("プロ"))));
    assert_eq!(
        records[1].plan,
        Patch::Set(PlanRef::Named {
            slug: Slug::parse("standard").unwrap_or_else(|e| panic!("{e}")),
            label: name("スタンダード"),
        })
    );
    assert_eq!(
        records[2].plan,
        Patch::Set(PlanRef::Slug(
            Slug::parse("pro").unwrap_or_else(|e| panic!("{e}"))
        ))
    );
    assert_eq!(
        records[0].owner_email,
        Patch::Set(UserRef::Name(name("山田 太郎")))
    );
    assert!(matches!(
        records[1].owner_email,
        Patch::Set(UserRef::Email(_))
    ));
}

#[test]
fn tenure_and_churn_flags_become_subscription_terms() {
    // As of 2020-06-30: 3 months of tenure started 2020-03-30; a churned flag ends the
    // subscription on the as-of day; a dated row keeps its dates.
    let csv = "customerID,Contract,tenure,Churn,MonthlyCharges\nA,Month-to-month,3,No,10\nB,One year,12,Yes,20.5\nC,Two year,0,No,5\nD,,x,maybe,1\n";
    let mapping = Mapping {
        map: strings(&[
            "customerID=account_external_id",
            "MonthlyCharges=mrr",
            "Contract=plan",
        ]),
        ..Mapping::default()
    };
    let errors = row_errors(parse_with(
        ImportKind::Subscriptions,
        csv.as_bytes(),
        mapping.clone(),
    ));
    assert_eq!(
        errors,
        vec![
            (5, "Contract".to_owned()),
            (5, "tenure".to_owned()),
            (5, "Churn".to_owned())
        ]
    );
    let csv = "customerID,Contract,tenure,Churn,MonthlyCharges\nA,Month-to-month,3,No,10\nB,One year,12,Yes,20.5\nC,Two year,0,No,5\n";
    let parsed = parse_with(ImportKind::Subscriptions, csv.as_bytes(), mapping)
        .unwrap_or_else(|e| panic!("{e}"));
    let ImportRecords::Subscriptions(records) = parsed.batch.records else {
        panic!("subscriptions expected")
    };
    let terms: Vec<(Date, Option<Date>)> = records.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(
        terms,
        vec![
            (day("2020-03-30"), None),
            (day("2019-06-30"), Some(day("2020-06-30"))),
            (day("2020-06-30"), None),
        ]
    );
    // Without a tenure column, a start date is required as before.
    assert!(matches!(
        parse(
            ImportKind::Subscriptions,
            b"account_id,plan,mrr\nA,b,1\n",
            &[]
        ),
        Err(ImportError::Header(_))
    ));
}

#[test]
fn saved_mappings_are_overridden_by_the_given_ones_and_bad_parts_are_named() {
    let saved = Mapping {
        map: strings(&["customerID=external_id", "Partner="]),
        values: strings(&["Contract:Two year=high"]),
        currency: Some("USD".to_owned()),
    };
    let given = Mapping {
        map: strings(&["Partner=partner_external_id"]),
        values: strings(&["Contract:two year=low"]),
        currency: Some("JPY".to_owned()),
    };
    let merged = saved.then(given);
    assert_eq!(
        merged.map,
        strings(&["customerID=external_id", "Partner=partner_external_id"])
    );
    assert_eq!(merged.values, strings(&["Contract:two year=low"]));
    assert_eq!(merged.currency.as_deref(), Some("JPY"));
    for bad in [
        Mapping {
            values: strings(&["Partner=Yes"]),
            ..Mapping::default()
        },
        Mapping {
            currency: Some("円".to_owned()),
            ..Mapping::default()
        },
        Mapping {
            map: strings(&["=name"]),
            ..Mapping::default()
        },
    ] {
        assert!(
            matches!(bad.check(), Err(ImportError::Header(_))),
            "{bad:?}"
        );
    }
    // A mapping of a column the file does not have is named, not silently dropped.
    let missing = parse_with(
        ImportKind::Accounts,
        b"external_id\nA\n",
        Mapping {
            values: strings(&["Partner:Yes="]),
            ..Mapping::default()
        },
    );
    assert!(matches!(missing, Err(ImportError::Header(m)) if m.contains("Partner")));
}
