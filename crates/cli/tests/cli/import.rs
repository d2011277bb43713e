//! Real exports through `mikawaya import`: a file shaped like the IBM Telco churn export
//! (no dates: tenure and a churn flag) and a Japanese CRM export (Shift_JIS, CRLF, ￥ and
//! backslash-yen amounts, Japanese plan names, owners by name, フェーズ and ランク).

use crate::util::{Workspace, ok, stderr, stdout};

/// The Telco export's 21 columns, CRLF, eight made-up customers. As of 2020-06-30, over
/// [2020-05-30, 2020-06-30): the cohort is the seven with a tenure of at least one month
/// (0008 joined this month); 0003, 0005 and 0006 churned: 3/7. MRR at t0: 29.85 + 56.95 +
/// 53.85 + 42.30 + 70.70 + 99.65 + 89.10 = 442.40; churned 53.85 + 70.70 + 99.65 = 224.20.
const TELCO: &str = "customerID,gender,SeniorCitizen,Partner,Dependents,tenure,PhoneService,MultipleLines,InternetService,OnlineSecurity,OnlineBackup,DeviceProtection,TechSupport,StreamingTV,StreamingMovies,Contract,PaperlessBilling,PaymentMethod,MonthlyCharges,TotalCharges,Churn\r\n\
0001-AAAAA,Female,0,Yes,No,1,No,No phone service,DSL,No,Yes,No,No,No,No,Month-to-month,Yes,Electronic check,29.85,29.85,No\r\n\
0002-BBBBB,Male,0,No,No,34,Yes,No,DSL,Yes,No,Yes,No,No,No,One year,No,Mailed check,56.95,1889.5,No\r\n\
0003-CCCCC,Male,0,No,No,2,Yes,No,DSL,Yes,Yes,No,No,No,No,Month-to-month,Yes,Mailed check,53.85,108.15,Yes\r\n\
0004-DDDDD,Male,0,No,No,45,No,No phone service,DSL,Yes,No,Yes,Yes,No,No,One year,No,Bank transfer (automatic),42.30,1840.75,No\r\n\
0005-EEEEE,Female,0,No,No,2,Yes,No,Fiber optic,No,No,No,No,No,No,Month-to-month,Yes,Electronic check,70.70,151.65,Yes\r\n\
0006-FFFFF,Female,0,No,No,8,Yes,Yes,Fiber optic,No,No,Yes,No,Yes,Yes,Month-to-month,Yes,Electronic check,99.65,820.5,Yes\r\n\
0007-GGGGG,Male,0,No,Yes,22,Yes,Yes,Fiber optic,No,Yes,No,No,Yes,No,Month-to-month,Yes,Credit card (automatic),89.10,1949.4,No\r\n\
0008-HHHHH,Female,0,Yes,Yes,0,No,No phone service,DSL,Yes,No,Yes,Yes,Yes,No,Two year,Yes,Bank transfer (automatic),52.55, ,No\r\n";

fn churn(workspace: &Workspace, from: &str, to: &str) -> serde_json::Value {
    let output = workspace.expect(&["churn", "--from", from, "--to", to, "--json"], None, 0);
    ok(serde_json::from_str(&stdout(&output)))
}

#[test]
fn the_telco_export_imports_with_mappings_and_gives_its_churn() {
    let workspace = Workspace::new();
    let file = workspace.path("WA_Fn-UseC_-Telco-Customer-Churn.csv");
    ok(std::fs::write(&file, TELCO));
    let file = file.to_string_lossy().to_string();
    // As the export is: Partner (Yes/No) is read as the reseller and every row fails.
    let refused = workspace.expect(
        &[
            "import",
            "accounts",
            &file,
            "--map",
            "customerID=external_id",
            "--map",
            "customerID=name",
        ],
        None,
        2,
    );
    assert!(
        stderr(&refused).contains(":2: column Partner: no partner with external id Yes"),
        "{}",
        stderr(&refused)
    );
    workspace.expect(
        &[
            "fields", "define", "--key", "contract", "--label", "Contract", "--kind", "text",
        ],
        None,
        0,
    );
    let accounts = workspace.expect(
        &[
            "import",
            "accounts",
            &file,
            "--map",
            "customerID=external_id",
            "--map",
            "customerID=name",
            "--map",
            "Partner=",
            "--map",
            "Contract=custom.contract",
            "--map",
            "MonthlyCharges=mrr",
            "--currency",
            "USD",
            "--save-mapping",
            "telco-accounts",
        ],
        None,
        0,
    );
    assert!(
        stdout(&accounts).contains("8 created"),
        "{}",
        stdout(&accounts)
    );
    assert!(stdout(&accounts).contains("saved the mapping as 'telco-accounts'"));
    let subscriptions = workspace.expect(
        &[
            "import",
            "subscriptions",
            &file,
            "--map",
            "customerID=account_external_id",
            "--map",
            "Contract=plan",
            "--map",
            "MonthlyCharges=mrr",
            "--as-of",
            "2020-06-30",
            "--save-mapping",
            "telco-subscriptions",
        ],
        None,
        0,
    );
    assert!(
        stdout(&subscriptions).contains("8 created"),
        "{}",
        stdout(&subscriptions)
    );
    let report = churn(&workspace, "2020-05-30", "2020-06-30");
    assert_eq!(report["accounts_at_start"].as_u64(), Some(7), "{report}");
    assert_eq!(report["churned"].as_u64(), Some(3), "{report}");
    assert_eq!(report["logo_churn_rate"].as_f64(), Some(3.0 / 7.0));
    let mrr_churn = report["mrr_churn_rate"].as_f64().unwrap_or(f64::NAN);
    assert!((mrr_churn - 224.20 / 442.40).abs() < 1e-9, "{report}");
    // Again with the saved mappings: nothing new, nothing changed.
    let again = workspace.expect(
        &[
            "import",
            "subscriptions",
            &file,
            "--mapping",
            "telco-subscriptions",
            "--as-of",
            "2020-06-30",
        ],
        None,
        0,
    );
    assert!(
        stdout(&again).contains("0 created, 8 updated"),
        "{}",
        stdout(&again)
    );
    let unknown = workspace.expect(
        &["import", "accounts", &file, "--mapping", "telco"],
        None,
        2,
    );
    assert!(
        stderr(&unknown).contains("no saved mapping named 'telco'"),
        "{}",
        stderr(&unknown)
    );
    assert!(
        stderr(&unknown).contains("telco-accounts"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(churn(&workspace, "2020-05-30", "2020-06-30"), report);
}

/// A Japanese CRM's accounts export as Excel saves it: Shift_JIS, CRLF; ￥ and
/// backslash-yen (Shift_JIS has no ¥); Japanese plans; owners by display name.
const CRM_ACCOUNTS: &str = "顧客コード,会社名,プラン,月額,契約開始日,契約更新日,担当者,フェーズ,ランク\r\n\
C-001,三河屋商店,プロ,\"￥７０，０００\",2024/04/01,2025/04/01,山田 太郎,活用,ハイタッチ\r\n\
C-002,伊勢屋,スタンダード,\"\\30,000\",2024/07/01,2025/07/01,山田　太郎,オンボーディング,ロータッチ\r\n\
C-003,越後屋,プロ,\"70,000円\",2023/10/01,2024/10/01,佐藤 花子,更新,ハイタッチ\r\n";

/// Its contract lines. Over [2024-10-01, 2025-01-01): all three are active at t0 (MRR
/// 70,000 + 30,000 + 70,000 = 170,000); 越後屋 ended 2024-12-31 (active up to its end,
/// exclusive): 1/3 churned, 70,000 of MRR.
const CRM_SUBSCRIPTIONS: &str = "契約ID,顧客コード,プラン,月額,開始日,終了日\r\n\
K-1,C-001,プロ,\"￥70,000\",2024/04/01,\r\n\
K-2,C-002,スタンダード,\"\\30,000\",2024/07/01,\r\n\
K-3,C-003,プロ,\"70,000円\",2023/10/01,2024/12/31\r\n";

#[test]
fn a_japanese_crm_export_imports_in_yen_with_its_plans_and_owners() {
    let workspace = Workspace::new();
    for (email, name) in [
        ("taro@team.example", "山田 太郎"),
        ("hanako@team.example", "佐藤 花子"),
    ] {
        workspace.expect(
            &[
                "user", "create", "--email", email, "--role", "csm", "--name", name,
            ],
            None,
            0,
        );
    }
    workspace.expect(&["settings", "currency", "JPY"], None, 0);
    let shift_jis = |name: &str, text: &str| {
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
        assert!(!unmappable, "{name} encodes");
        let path = workspace.path(name);
        ok(std::fs::write(&path, bytes));
        path.to_string_lossy().to_string()
    };
    let accounts = shift_jis("顧客一覧.csv", CRM_ACCOUNTS);
    let output = workspace.expect(&["import", "accounts", &accounts], None, 0);
    assert!(
        stdout(&output).contains("(Shift_JIS): 3 created"),
        "{}",
        stdout(&output)
    );
    let subscriptions = shift_jis("契約一覧.csv", CRM_SUBSCRIPTIONS);
    workspace.expect(&["import", "subscriptions", &subscriptions], None, 0);

    let store = ok(mikawaya_store::sqlite::SqliteStore::open_dir(
        &workspace.data_dir(),
    ));
    let read = mikawaya_domain::Actor::system().read();
    let accounts = ok(mikawaya_store::Store::all_accounts(&store, &read));
    let users = ok(mikawaya_store::Store::list_users(&store, &read));
    let plan_names = ok(mikawaya_store::Store::plan_names(&store, &read));
    let view: Vec<(String, String, f64, String, String, String, String)> = accounts
        .iter()
        .map(|a| {
            let plan = a
                .plan
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            (
                a.name.to_string(),
                plan_names.get(&plan).cloned().unwrap_or(plan),
                a.mrr.amount(),
                a.currency.to_string(),
                users
                    .iter()
                    .find(|u| Some(u.id) == a.owner_id)
                    .map(|u| u.name.to_string())
                    .unwrap_or_default(),
                a.stage
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                a.tier.map(|t| t.as_str().to_owned()).unwrap_or_default(),
            )
        })
        .collect();
    let row = |name: &str, plan: &str, mrr: f64, owner: &str, stage: &str, tier: &str| {
        (
            name.to_owned(),
            plan.to_owned(),
            mrr,
            "JPY".to_owned(),
            owner.to_owned(),
            stage.to_owned(),
            tier.to_owned(),
        )
    };
    assert_eq!(
        view,
        vec![
            row(
                "三河屋商店",
                "プロ",
                70_000.0,
                "山田 太郎",
                "adoption",
                "high"
            ),
            row(
                "伊勢屋",
                "スタンダード",
                30_000.0,
                "山田 太郎",
                "onboarding",
                "low"
            ),
            row("越後屋", "プロ", 70_000.0, "佐藤 花子", "renewal", "high"),
        ]
    );
    drop(store);
    let report = churn(&workspace, "2024-10-01", "2025-01-01");
    assert_eq!(
        (
            report["accounts_at_start"].as_u64(),
            report["churned"].as_u64()
        ),
        (Some(3), Some(1)),
        "{report}"
    );
    let mrr_churn = report["mrr_churn_rate"].as_f64().unwrap_or(f64::NAN);
    assert!((mrr_churn - 70_000.0 / 170_000.0).abs() < 1e-9, "{report}");
}

/// `mikawaya` with the locale variables set as given (and no other).
fn localized(
    workspace: &Workspace,
    locale: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut command = workspace.command();
    command.env_remove("MIKAWAYA_LOCALE");
    for name in ["LC_ALL", "LC_MESSAGES", "LANG"] {
        command.env_remove(name);
    }
    command.envs(locale.iter().copied()).args(args);
    ok(command.output())
}

#[test]
fn cli_messages_follow_mikawaya_locale_and_lang() {
    let workspace = Workspace::new();
    let file = workspace.path("crm.csv");
    ok(std::fs::write(
        &file,
        "external_id,name,mrr\r\nA-1,Acme,1000\r\nA-2,Beta,abc\r\n",
    ));
    let file = file.to_string_lossy().to_string();
    let args = ["import", "accounts", file.as_str()];
    for locale in [
        &[("MIKAWAYA_LOCALE", "ja")][..],
        &[("LANG", "ja_JP.UTF-8")][..],
        &[("LC_ALL", "C"), ("MIKAWAYA_LOCALE", "ja_JP")][..],
    ] {
        let refused = localized(&workspace, locale, &args);
        let text = String::from_utf8_lossy(&refused.stderr).to_string();
        assert_eq!(refused.status.code(), Some(2), "{locale:?}: {text}");
        // The line and column stay; the words are Japanese.
        assert!(
            text.contains(":3: 列 mrr: 'abc' は金額ではありません"),
            "{locale:?}: {text}"
        );
        assert!(
            text.contains("エラー: ") && text.contains("何も取り込んでいません"),
            "{locale:?}: {text}"
        );
    }
    for locale in [
        &[][..],
        &[("LANG", "ja_JP.UTF-8"), ("LC_ALL", "en_US.UTF-8")][..],
    ] {
        let refused = localized(&workspace, locale, &args);
        let text = String::from_utf8_lossy(&refused.stderr).to_string();
        assert!(
            text.contains(":3: column mrr: 'abc' is not an amount")
                && text.contains("error: ")
                && text.contains("nothing was imported"),
            "{locale:?}: {text}"
        );
    }
    // Success and the commands' own messages too.
    ok(std::fs::write(
        &file,
        "external_id,name,mrr\r\nA-1,Acme,1000\r\n",
    ));
    let imported = localized(&workspace, &[("LANG", "ja_JP.UTF-8")], &args);
    let said = String::from_utf8_lossy(&imported.stdout).to_string();
    assert!(
        said.contains("1 行を取り込みました: 新規 1、更新 0"),
        "{said}"
    );
    let created = localized(
        &workspace,
        &[("MIKAWAYA_LOCALE", "ja")],
        &["writekey", "create", "--name", "web"],
    );
    assert!(
        String::from_utf8_lossy(&created.stderr).contains("表示されるのは今だけです"),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
}
