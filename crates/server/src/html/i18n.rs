//! The two languages of the HTML pages and the formatting of numbers, money and dates.

use axum::http::HeaderMap;

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Japanese.
    Ja,
}

impl Lang {
    /// The user's choice, else the browser's `Accept-Language` (first of ja/en), else English.
    pub fn detect(user_locale: Option<&str>, headers: &HeaderMap) -> Self {
        if let Some(locale) = user_locale {
            return if locale.starts_with("ja") {
                Lang::Ja
            } else {
                Lang::En
            };
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let tag = part.split(';').next().unwrap_or("").trim().to_lowercase();
            if tag.starts_with("ja") {
                return Lang::Ja;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::En
    }

    /// The product language (for sentences made outside the pages).
    pub fn language(self) -> mikawaya_domain::language::Language {
        match self {
            Lang::En => mikawaya_domain::language::Language::En,
            Lang::Ja => mikawaya_domain::language::Language::Ja,
        }
    }

    /// The `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// A value of a vocabulary (`stage`, `kind`, `role`, `user_role`) in words; values
    /// without a translation are shown as they are.
    pub fn value(self, vocabulary: &str, value: &str) -> String {
        let label = self.t(&format!("{vocabulary}.{value}"));
        if label.is_empty() {
            value.to_owned()
        } else {
            label.to_owned()
        }
    }

    /// A translated label.
    pub fn t(self, key: &str) -> &'static str {
        let (en, ja) = match key {
            "portfolio" => ("Portfolio", "ポートフォリオ"),
            "today" => ("Today", "今日"),
            "team_tasks" => ("The team's tasks", "チームのタスク"),
            "whose_tasks" => ("Whose tasks", "担当"),
            "mine" => ("Mine", "自分"),
            "whole_team" => ("The whole team", "チーム全員"),
            "team_queue" => ("Unassigned (team queue)", "未割り当て（チームキュー）"),
            "tasks_first" => ("Showing the soonest due, at most", "期限の近い順に最大"),
            "renewals_pages" => ("Pages of renewals", "更新一覧のページ"),
            "previous" => ("Previous page", "前のページ"),
            "all_my_accounts" => ("All our accounts", "自社の全顧客"),
            "points_or_more" => ("points or more", "ポイント以上"),
            "no_touch_for" => ("No touch for", "接触なし"),
            "days_or_more" => ("days or more", "日以上"),
            "renewal_within" => ("Renewal within", "更新まで"),
            "days" => ("days", "日以内"),
            "voice" => ("Surveys and pulses", "アンケートとパルス"),
            "no_answers" => (
                "No survey answers or pulses yet.",
                "アンケート回答・パルスはまだありません。",
            ),
            "survey" => ("Survey", "アンケート"),
            "score" => ("Score", "スコア"),
            "comment" => ("Comment", "コメント"),
            "pulses" => ("CSM pulses", "CSMパルス"),
            "playbook_runs" => ("Playbooks on this account", "この顧客のプレイブック"),
            "why_fired" => ("why", "理由"),
            "run_status.active" => ("active", "実行中"),
            "run_status.completed" => ("completed", "完了"),
            "run_status.held_out" => ("held out (control group)", "対照群（実施せず）"),
            "run_status.cancelled" => ("cancelled", "中止"),
            "account_name" => ("Name", "顧客名"),
            "add_stakeholder" => ("Add a stakeholder", "ステークホルダーを追加"),
            "attendees" => ("Attendees", "参加者"),
            "attendees_hint" => (
                "names or emails, separated by commas",
                "名前またはメール（カンマ区切り）",
            ),
            "author" => ("Author", "記録者"),
            "date" => ("Date", "日付"),
            "edit" => ("Edit", "編集"),
            "edit_account" => ("Edit the account", "顧客情報を編集"),
            "events_28d" => ("Events (28 days)", "イベント数（28日）"),
            "hierarchy" => ("Hierarchy", "企業階層"),
            "influence" => ("Influence", "影響力"),
            "last_seen" => ("Last seen", "最終利用日"),
            "no_product_users" => (
                "No product users tracked yet.",
                "計測されたプロダクト利用者はまだいません。",
            ),
            "notes" => ("Notes", "メモ"),
            "parent" => ("Parent", "親会社"),
            "parent_id" => ("Parent account id", "親会社のID"),
            "product_users" => ("Product users", "プロダクト利用者"),
            "rollup_arr" => ("ARR with the accounts below", "配下を含むARR"),
            "save" => ("Save", "保存"),
            "sentiment" => ("Sentiment", "感情"),
            "user" => ("User", "ユーザー"),
            "value_now" => ("Value now", "現在の値"),
            "why_attention" => ("Why it needs attention", "対応が必要な理由"),
            "worst_health" => ("Worst health", "最も低いヘルス"),
            "influence.high" => ("High", "高"),
            "influence.medium" => ("Medium", "中"),
            "influence.low" => ("Low", "低"),
            "sentiment.positive" => ("Positive", "好意的"),
            "sentiment.neutral" => ("Neutral", "中立"),
            "sentiment.negative" => ("Negative", "否定的"),
            "select" => ("Select", "選択"),
            "change_30d" => ("30-day change", "30日変化"),
            "forecast_risk" => ("Churn risk", "解約リスク"),
            "last_touch" => ("Last touch", "最終接触"),
            "bulk_action" => ("For the selected accounts", "選択した顧客に"),
            "set_owner" => ("Set the owner", "担当CSMを変更"),
            "set_tier" => ("Set the tier", "タッチを変更"),
            "set_stage" => ("Set the stage", "ステージを変更"),
            "apply_to_selected" => ("Apply", "適用"),
            "new_owner" => ("New owner", "新しい担当CSM"),
            "new_tier" => ("New tier", "新しいタッチ"),
            "new_stage" => ("New stage", "新しいステージ"),
            "playbook_to_start" => ("Playbook to start", "開始するプレイブック"),
            "nothing_selected" => (
                "Select at least one account.",
                "顧客を1件以上選択してください。",
            ),
            "menu" => ("Menu", "メニュー"),
            "main_menu_narrow" => ("Main menu (narrow screens)", "メインメニュー（小さい画面）"),
            "me" => ("Me", "自分"),
            "how_priority" => ("How the order is computed", "並び順の計算方法"),
            "needs_attention" => ("Needs attention", "対応が必要な顧客"),
            "nothing_needs_attention" => (
                "Nothing needs attention today.",
                "今日対応が必要な顧客はありません。",
            ),
            "snoozed" => ("Snoozed", "スヌーズ中"),
            "until" => ("Until", "期限"),
            "wake" => ("Show again", "再表示"),
            "renewals_30" => ("Renewals within 30 days", "30日以内の更新"),
            "due_this_week" => ("Tasks due this week", "今週期限のタスク"),
            "account" => ("Account", "顧客"),
            "start_playbook" => ("Start a playbook", "プレイブックを開始"),
            "playbook" => ("Playbook", "プレイブック"),
            "snooze" => ("Snooze", "スヌーズ"),
            "reason" => ("Reason", "理由"),
            "server_error" => (
                "Something went wrong on our side; it was logged. Please try again.",
                "サーバー側でエラーが発生しました（記録済み）。もう一度お試しください。",
            ),
            "login" => ("Log in", "ログイン"),
            "logout" => ("Log out", "ログアウト"),
            "email" => ("Email", "メールアドレス"),
            "password" => ("Password", "パスワード"),
            "name" => ("Account", "顧客"),
            "arr" => ("ARR", "ARR"),
            "renewal" => ("Renewal", "更新日"),
            "owner" => ("Owner", "担当CSM"),
            "stage" => ("Stage", "ステージ"),
            "tier" => ("Tier", "タッチ"),
            "partner" => ("Partner", "代理店"),
            "search" => ("Search", "検索"),
            "filter" => ("Filter", "絞り込み"),
            "all" => ("All", "すべて"),
            "next" => ("Next page", "次のページ"),
            "first" => ("First page", "最初のページ"),
            "accounts_found" => ("accounts", "件"),
            "no_accounts" => (
                "No accounts match these filters.",
                "条件に合う顧客はありません。",
            ),
            "bad_login" => (
                "Wrong email or password.",
                "メールアドレスまたはパスワードが違います。",
            ),
            "locked" => (
                "Too many failed logins. Try again later.",
                "ログインの失敗が多すぎます。しばらくしてから再度お試しください。",
            ),
            "not_found" => ("Page not found.", "ページが見つかりません。"),
            "main_menu" => ("Main menu", "メインメニュー"),
            "dashboards" => ("Dashboards", "ダッシュボード"),
            "book_of_business" => ("Book of business per CSM", "CSMごとの担当顧客"),
            "open_tasks" => ("Open tasks", "未完了タスク"),
            "unowned" => ("(no owner)", "（担当なし）"),
            "saved_views" => ("Saved views", "保存したビュー"),
            "form_expired" => (
                "The form expired; please try again.",
                "フォームの有効期限が切れました。もう一度お試しください。",
            ),
            "stage.onboarding" => ("Onboarding", "オンボーディング"),
            "stage.adoption" => ("Adoption", "活用"),
            "stage.value" => ("Value", "価値実感"),
            "stage.renewal" => ("Renewal", "更新"),
            "stage.expansion" => ("Expansion", "拡大"),
            "stage.advocacy" => ("Advocacy", "推奨"),
            "stage.churned" => ("Churned", "解約"),
            "kind.meeting" => ("Meeting", "打ち合わせ"),
            "kind.call" => ("Call", "電話"),
            "kind.email" => ("Email", "メール"),
            "kind.qbr" => ("QBR", "QBR"),
            "kind.note" => ("Note", "メモ"),
            "role.end_user" => ("End user", "エンドユーザー"),
            "role.admin" => ("Administrator", "管理者"),
            "role.champion" => ("Champion", "チャンピオン"),
            "role.decision_maker" => ("Decision maker", "導入決定者"),
            "role.executive_sponsor" => ("Executive sponsor", "エグゼクティブスポンサー"),
            "role.billing" => ("Billing", "請求担当"),
            "user_role.admin" => ("Admin", "管理者"),
            "user_role.leader" => ("Leader", "リーダー"),
            "user_role.csm" => ("CSM", "CSM"),
            "user_role.partner" => ("Partner", "代理店"),
            "user_role.viewer" => ("Viewer", "閲覧者"),
            "event" => ("Event", "イベント"),
            "all_events" => ("All events", "すべてのイベント"),
            "show" => ("Show", "表示"),
            "view_name" => ("Save this view as", "このビューを保存"),
            "save_view" => ("Save view", "ビューを保存"),
            "settings" => ("Settings", "設定"),
            "shown_once" => (
                "copy it now: it is not shown again",
                "今すぐコピーしてください。再表示はできません",
            ),
            "users" => ("Users and roles", "ユーザーと権限"),
            "partners" => ("Partners", "代理店"),
            "language" => ("Language", "言語"),
            "api_tokens" => ("API tokens", "APIトークン"),
            "scope" => ("Scope", "権限"),
            "created" => ("Created", "作成日"),
            "revoked" => ("Revoked", "失効"),
            "active" => ("Active", "有効"),
            "disabled" => ("Disabled", "無効"),
            "token_name" => ("Token name", "トークン名"),
            "create_token" => ("Create token", "トークンを作成"),
            "write_keys" => ("Write keys (usage tracking)", "書き込みキー（利用データ）"),
            "key_name" => ("Key name", "キー名"),
            "create_write_key" => ("Create write key", "書き込みキーを作成"),
            "api_token_created" => ("New API token", "新しいAPIトークン"),
            "write_key_created" => ("New write key", "新しい書き込みキー"),
            "scorecards" => ("Health scorecards", "ヘルススコアカード"),
            "team" => ("Team", "チーム"),
            "playbooks_help" => (
                "Each playbook's success rate against its held-out control group: the uplift is the difference in points, with its 95% interval.",
                "各プレイブックの成功率を対照群（ホールドアウト）と比べています。効果は差（ポイント）と95%信頼区間です。",
            ),
            "new_playbook" => ("New playbook", "新しいプレイブック"),
            "no_outcome" => ("No outcome defined to measure", "測定する成果が未定義"),
            "runs" => ("Runs", "実施"),
            "success_rate" => ("Success", "成功率"),
            "held_out_runs" => ("Held out", "対照"),
            "uplift_pts" => ("Uplift (pts)", "効果（pt）"),
            "ci95" => ("95% interval", "95%信頼区間"),
            "effect_vs_holdout" => ("Effect against the holdout", "対照群との比較"),
            "effect_help" => (
                "Only firings whose outcome is known count.",
                "成果が判明した発火のみを数えます。",
            ),
            "pending_outcomes" => ("not known yet", "未判明"),
            "dry_run" => ("Dry run on the past 90 days", "過去90日でドライラン"),
            "dry_run_result" => ("Would have fired", "発火していた顧客"),
            "dry_run_help" => (
                "The draft's trigger and conditions on each of the past 90 days, keeping its cooldown; nothing was written.",
                "下書きのトリガーと条件を過去90日の各日に当てはめた結果です（クールダウンを考慮）。何も書き込んでいません。",
            ),
            "dry_run_none" => (
                "No account would have fired.",
                "発火する顧客はありませんでした。",
            ),
            "edit_playbook" => (
                "Edit (saved as a new version)",
                "編集（新しいバージョンとして保存）",
            ),
            "playbook_key" => ("Key (a-z, 0-9, -)", "キー（英小文字・数字・-）"),
            "title_en" => ("Title (English)", "タイトル（英語）"),
            "title_ja" => ("Title (Japanese)", "タイトル（日本語）"),
            "trigger" => ("Trigger", "トリガー"),
            "trigger_kind" => ("When", "発火条件"),
            "trigger_help" => (
                "Only the parameters the chosen trigger takes are used: an event and days for events, a metric and threshold for metrics, days for renewals.",
                "選んだトリガーが使う項目だけが使われます（イベントなら対象イベントと日数、指標なら指標としきい値、更新なら日数）。",
            ),
            "t_event" => ("Event", "イベント"),
            "t_within_days" => ("Within days", "何日以内"),
            "t_days" => ("Days", "日数"),
            "t_after" => ("After event", "起点イベント"),
            "t_metric" => ("Metric", "指標"),
            "t_threshold" => ("Threshold", "しきい値"),
            "t_percent" => ("Percent", "割合（%）"),
            "t_points" => ("Points", "ポイント"),
            "t_stage" => ("Stage", "ステージ"),
            "t_field" => ("Field", "項目"),
            "t_survey" => ("Survey (nps, csat, ces)", "アンケート（nps・csat・ces）"),
            "t_min_score" => ("Lowest score", "最低スコア"),
            "t_max_score" => ("Highest score", "最高スコア"),
            "conditions" => ("For which accounts", "対象の顧客"),
            "cond_plans" => ("Plans (comma-separated)", "プラン（カンマ区切り）"),
            "cond_stages" => ("Stages", "ステージ"),
            "cond_partners" => (
                "Partners (external ids, direct)",
                "代理店（外部ID・direct）",
            ),
            "cond_owners" => ("Owners (emails, none)", "担当（メール・none）"),
            "cond_segment" => ("Saved segment", "保存済みセグメント"),
            "cond_min_arr" => ("ARR from", "ARR下限"),
            "cond_max_arr" => ("ARR below", "ARR上限（未満）"),
            "measure_and_control" => (
                "Cooldown, holdout and outcome",
                "クールダウン・対照群・成果",
            ),
            "cooldown_days" => ("Cooldown (days)", "クールダウン（日）"),
            "holdout_percent" => ("Holdout (% of firings)", "対照群（発火の%）"),
            "outcome_kind" => ("Success is", "成果の定義"),
            "outcome_days" => ("Measured after days", "何日後に測定"),
            "stage_series" => ("Process (series)", "プロセス（シリーズ）"),
            "stage_order" => ("Stage order", "段階の順番"),
            "steps" => ("Steps", "ステップ"),
            "steps_help" => (
                "A step's detail is the assignee (owner or team) of a task, the contact role of an email, the URL of a webhook, the tier or stage to set. A phase groups steps; a task's deliverable closes its phase when accepted.",
                "ステップの詳細は、タスクなら担当（owner・team）、メールなら宛先ロール、Webhookなら URL、タッチ・ステージ変更なら設定値です。フェーズはステップのまとまりで、タスクの成果物が受け入れられるとフェーズが閉じます。",
            ),
            "step_kind" => ("Step", "ステップ"),
            "phase" => ("Phase", "フェーズ"),
            "step_days" => ("Days (due / wait)", "日数（期限・待機）"),
            "step_detail" => ("Detail", "詳細"),
            "deliverable" => ("Deliverable", "成果物"),
            "branch_kept" => (
                "A branch step, kept as it is (edit it over the API)",
                "分岐ステップ（そのまま保持。APIで編集）",
            ),
            "trigger.event" => ("An event happened", "イベントが発生"),
            "trigger.event_absent" => ("An event did not happen", "イベントが発生しない"),
            "trigger.metric_below" => ("A metric is below", "指標がしきい値未満"),
            "trigger.metric_above" => ("A metric is above", "指標がしきい値超"),
            "trigger.metric_drop" => ("A metric dropped", "指標が低下"),
            "trigger.health_below" => ("Health is below", "ヘルスがしきい値未満"),
            "trigger.health_drop" => ("Health dropped", "ヘルスが低下"),
            "trigger.renewal_within" => ("Renewal within days", "更新まで○日以内"),
            "trigger.days_after_start" => ("Days after the contract start", "契約開始から○日"),
            "trigger.stage_entered" => ("Entered a stage", "ステージに入った"),
            "trigger.field_changed" => ("A field changed", "項目が変更された"),
            "trigger.survey_answer" => ("A survey answer", "アンケート回答"),
            "outcome.none" => ("— not measured —", "— 測定しない —"),
            "outcome.retained" => ("Still paying", "契約継続"),
            "outcome.event_happened" => ("An event happened", "イベントが発生"),
            "outcome.health_recovered" => ("Health recovered to", "ヘルスが回復"),
            "step.task" => ("Task", "タスク"),
            "step.email" => ("Email", "メール"),
            "step.webhook" => ("Webhook", "Webhook"),
            "step.wait" => ("Wait", "待機"),
            "step.set_tier" => ("Set the tier", "タッチを変更"),
            "step.move_stage" => ("Move the stage", "ステージを変更"),
            "next_best_action" => ("Next best action", "次の一手"),
            "next_best_help" => (
                "Playbooks ranked by their measured effect on accounts of the same touch tier: their success rate against the held-out control group.",
                "同じタッチの顧客での効果（対照群と比べた成功率の差）が大きい順のプレイブックです。",
            ),
            "tier_name.high" => ("high-touch", "ハイタッチ"),
            "tier_name.low" => ("low-touch", "ロータッチ"),
            "tier_name.tech" => ("tech-touch", "テックタッチ"),
            "tier_name.none" => ("untiered", "タッチ未設定"),
            "deactivated" => ("Deactivated", "無効化済み"),
            "activate" => ("Activate again", "再度有効にする"),
            "deactivate" => ("Deactivate", "無効にする"),
            "invite" => ("Invite someone", "メンバーを招待"),
            "external_id" => ("External id", "外部ID"),
            "save_partner" => ("Add or rename partner", "代理店を追加・名称変更"),
            "partner_help" => (
                "A partner is known by its external id (its code in your CRM): saving an existing external id renames that partner.",
                "代理店は外部ID（CRMでのコード）で識別します。既存の外部IDで保存すると、その代理店の名称を変更します。",
            ),
            "custom_fields" => ("Custom fields of accounts", "顧客のカスタム項目"),
            "key" => ("Key", "キー"),
            "label" => ("Label", "表示名"),
            "field_kind" => ("Kind", "種類"),
            "options" => ("Options", "選択肢"),
            "delete" => ("Delete", "削除"),
            "options_help" => (
                "Options (enum, comma-separated)",
                "選択肢（enumのみ、カンマ区切り）",
            ),
            "define_field" => ("Define field", "項目を定義"),
            "audit_log" => (
                "Changes (who, when, before and after)",
                "変更履歴（誰が・いつ・変更前後）",
            ),
            "when" => ("When", "日時"),
            "who" => ("Who", "変更者"),
            "what" => ("What", "対象"),
            "before" => ("Before", "変更前"),
            "after" => ("After", "変更後"),
            "no_partner" => ("— none —", "— なし —"),
            "first_password_for" => ("First password for", "初回パスワード："),
            "audit_object.user" => ("User", "ユーザー"),
            "audit_object.partner" => ("Partner", "代理店"),
            "audit_object.segment" => ("Segment", "セグメント"),
            "audit_object.custom_field" => ("Custom field", "カスタム項目"),
            "audit_action.create" => ("created", "作成"),
            "audit_action.update" => ("changed", "変更"),
            "audit_action.delete" => ("deleted", "削除"),
            "audit_action.deactivate" => ("deactivated", "無効化"),
            "audit_action.activate" => ("activated", "有効化"),
            "custom_field" => ("Custom field", "カスタム項目"),
            "custom_value" => ("Its value", "その値"),
            "proof" => ("Proof", "検証"),
            "cohorts" => ("Churn cohorts", "解約コホート"),
            "cohorts_help" => (
                "Logo churn, GRR and NRR of the accounts paying on the first day, per cohort. Each account counts in the cohort it was in on that day (its tier, plan, owner, partner or custom field then), not the one it is in now.",
                "期首に契約中だった顧客のロゴチャーン・GRR・NRRをコホート別に示します。各顧客は現在ではなく、期首時点のコホート（その時のタッチ・プラン・担当・代理店・カスタム項目）で数えます。",
            ),
            "cohort_by" => ("Cohort by", "コホートの軸"),
            "from" => ("From", "開始日"),
            "to" => ("To", "終了日"),
            "cohort" => ("Cohort", "コホート"),
            "cohort.start_month" => ("Start month", "開始月"),
            "cohort.plan" => ("Plan", "プラン"),
            "cohort.tier" => ("Touch tier", "タッチ"),
            "cohort.partner" => ("Partner", "代理店"),
            "cohort.owner" => ("Owner", "担当CSM"),
            "accounts_at_start" => ("Accounts at start", "期首の顧客数"),
            "mrr_at_start" => ("MRR at start", "期首MRR"),
            "all_accounts" => ("All accounts", "全顧客"),
            "metric_explorer" => ("Metric explorer", "指標エクスプローラー"),
            "metric_explorer_help" => (
                "Pick a metric (★ defined by your team) to see its distribution over the paying accounts, its quartiles month by month, and whether it predicts churn within 90 days on the past year.",
                "指標（★はチームで定義したもの）を選ぶと、契約中の顧客での分布、月ごとの四分位、過去1年で90日以内の解約を予測できるかを表示します。",
            ),
            "direction" => ("Risk when", "リスクの向き"),
            "direction_auto" => ("As usual for the kind", "種類に応じて自動"),
            "lower_is_riskier" => ("Lower is riskier", "低いほどリスク"),
            "higher_is_riskier" => ("Higher is riskier", "高いほどリスク"),
            "explore" => ("Explore", "表示"),
            "no_value" => ("No value", "値なし"),
            "distribution" => ("Distribution over paying accounts", "契約中の顧客での分布"),
            "value_range" => ("Value", "値"),
            "trend" => ("Quartiles by month", "月ごとの四分位"),
            "median" => ("Median", "中央値"),
            "day" => ("Day", "日付"),
            "does_it_predict" => (
                "Does it predict churn within 90 days?",
                "90日以内の解約を予測できるか",
            ),
            "define_metric" => ("Define a metric", "指標を定義"),
            "metric_name" => ("Name (a-z, 0-9, _)", "名前（英小文字・数字・_）"),
            "metric_kind" => ("Kind", "種類"),
            "metric_kind.count" => ("Count of an event", "イベントの回数"),
            "metric_kind.distinct_users" => ("Active users", "アクティブユーザー数"),
            "metric_kind.days_since" => ("Days since an event", "イベントからの日数"),
            "metric_kind.per_month" => ("Events per month", "月あたりの回数"),
            "metric_kind.sum" => ("Sum of a property", "プロパティの合計"),
            "metric_kind.pct_change" => ("% change of an event's count", "イベント回数の前期比"),
            "property" => ("Property (sum)", "プロパティ（合計）"),
            "window_days" => ("Window (days)", "期間（日）"),
            "define_and_explore" => ("Define and explore", "定義して表示"),
            "model_trained" => ("Forecast trained:", "解約予測を学習しました："),
            "model_card" => ("Model card", "モデルカード"),
            "no_model" => (
                "No forecast model yet: a leader trains one here, or `mikawaya forecast train`.",
                "解約予測モデルはまだありません。リーダーがここで学習するか、`mikawaya forecast train` を実行してください。",
            ),
            "trained_at" => ("Trained", "学習日時"),
            "trained_through" => ("Last observation date", "最後の観測日"),
            "horizon" => ("Churn within", "予測期間"),
            "day_unit" => ("days", "日"),
            "examples" => ("Examples learned from", "学習データ数"),
            "validation_auc" => ("Validation AUC (time-ordered)", "検証AUC（時系列）"),
            "model_help" => (
                "An L2-regularized logistic regression over the metrics, MRR and tenure, learned from every paying account on every observation date of the past year and validated on later dates than it learned from. Coefficients are per standard deviation of each feature.",
                "過去1年の各観測日の全契約顧客から、指標・MRR・契約期間を使うL2正則化ロジスティック回帰を学習し、学習より後の日付で検証しています。係数は各特徴量の標準偏差あたりです。",
            ),
            "feature" => ("Feature", "特徴量"),
            "coefficient" => ("Coefficient", "係数"),
            "effect" => ("Effect", "影響"),
            "more_is_riskier" => ("More of it raises the risk", "大きいほどリスクが上がる"),
            "more_is_safer" => ("More of it lowers the risk", "大きいほどリスクが下がる"),
            "train_again" => ("Train again on the past year", "過去1年で再学習"),
            "backtest_forecast" => ("Backtest on held-out dates", "検証用の日付でバックテスト"),
            "accounts_by_risk" => ("Accounts by churn risk", "解約リスクの高い顧客"),
            "churn_risk" => ("Churn risk", "解約リスク"),
            "risk_factors" => ("What raises it", "リスクを上げている要因"),
            "workload" => ("Workload per person", "担当者ごとの負荷"),
            "effort" => ("Effort", "工数"),
            "renewals_in_90" => ("Renewals in 90 days", "90日以内の更新"),
            "task_board" => (
                "The team's open tasks, overdue first",
                "チームの未完了タスク（期限切れが先）",
            ),
            "all_tasks" => ("All their tasks", "すべてのタスク"),
            "edit_scorecards" => (
                "Edit the scorecards, backtest a draft, see versions",
                "スコアカードの編集・下書きのバックテスト・バージョン履歴",
            ),
            "scorecards_saved" => ("Scorecards saved as", "スコアカードを保存しました："),
            "in_force" => ("In force", "適用中"),
            "built_in_card" => (
                "Nothing saved yet: the built-in default card scores every account",
                "まだ保存されていません。組み込みの default カードで全顧客を採点しています",
            ),
            "scorecards_help" => (
                "The first segment card that matches an account scores it; every other account gets the default card. Backtest a draft before saving: both are scored on the same past observations and checked against who churned.",
                "最初に当てはまるセグメント別カードで採点し、それ以外の顧客は default カードで採点します。保存する前に下書きをバックテストしてください。現在のカードと同じ過去の観測で、その後の解約と照らし合わせます。",
            ),
            "default_card" => ("Default card", "標準カード"),
            "segment_field.tier" => ("Touch tier", "タッチ"),
            "segment_field.plan" => ("Plan", "プラン"),
            "segment_field.stage" => ("Stage", "ステージ"),
            "add_segment_card" => ("Card for a segment", "セグメント別カードを追加"),
            "card_name" => ("Card name", "カード名"),
            "segment_field_label" => ("Segment by", "セグメントの項目"),
            "segment_value" => ("Segment value", "セグメントの値"),
            "measures" => ("Measures", "指標"),
            "red_at" => ("Red at (scores 0)", "赤（0点）の値"),
            "green_at" => ("Green at (scores 100)", "緑（100点）の値"),
            "thresholds" => ("Thresholds", "しきい値"),
            "mapping_help" => (
                "Thresholds map a value linearly from red (0) to green (100); put green below red when lower is better. A measure left at — is removed.",
                "しきい値は赤（0点）から緑（100点）まで直線で換算します。値が低いほど良い指標は緑を赤より小さくしてください。「—」にした指標は外れます。",
            ),
            "backtest_draft" => ("Backtest the draft", "下書きをバックテスト"),
            "save_version" => ("Save as a new version", "新しいバージョンとして保存"),
            "suggest_card" => ("Suggest a card from the history", "履歴からカードを提案"),
            "draft_backtest" => (
                "The draft beside the cards in force",
                "下書きと適用中のカードの比較",
            ),
            "current_cards" => ("Cards in force", "適用中のカード"),
            "draft" => ("Draft", "下書き"),
            "suggested_card" => ("Suggested card", "提案カード"),
            "suggest_help" => (
                "Learned from the earlier observation dates, judged on later dates it has not seen, beside the cards in force and the churn forecast. It is in the form above: backtest, adjust, save.",
                "前半の観測日から学習し、学習に使っていない後半の観測日で、適用中のカードと解約予測と並べて評価しました。上のフォームに入っています。バックテスト・調整してから保存してください。",
            ),
            "auc_alone" => ("AUC alone", "単独のAUC"),
            "held_out" => ("Held-out dates", "検証用の観測日"),
            "forecast" => ("Churn forecast", "解約予測"),
            "versions" => ("Versions", "バージョン履歴"),
            "saved_at" => ("Saved", "保存日時"),
            "saved_by" => ("Saved by", "保存者"),
            "segment_cards" => ("Segment cards", "セグメント別カード"),
            "roll_back_to" => ("Put back", "元に戻す："),
            "system" => ("System", "システム"),
            "top_decile_lift" => ("Top-decile lift", "上位10%リフト"),
            "observations" => ("Observations", "観測数"),
            "calibration" => ("Churn rate by risk decile", "リスク十分位別の解約率"),
            "calibration_help" => (
                "Accounts split into ten equal groups by risk (D10 riskiest); a good score rises from left to right.",
                "リスク順に10等分した群ごとの解約率（D10が最もリスクが高い）。良いスコアは右肩上がりになります。",
            ),
            "metric_kind.mrr" => ("MRR", "MRR"),
            "metric_kind.seats" => ("Seats", "席数"),
            "metric_kind.tenure_days" => ("Days since the contract start", "契約開始からの日数"),
            "metric_kind.days_since_touch" => {
                ("Days since the last touchpoint", "最後の接点からの日数")
            }
            "metric_kind.nps" => ("Latest NPS answer", "直近のNPS回答"),
            "metric_kind.csat" => ("Latest CSAT answer", "直近のCSAT回答"),
            "metric_kind.ces" => ("Latest CES answer", "直近のCES回答"),
            "metric_kind.pulse" => ("Latest CSM pulse", "直近のCSMパルス"),
            "scorecard" => ("Health scorecard", "ヘルススコアカード"),
            "mapping" => ("Mapping", "換算"),
            "percentile" => (
                "Percentile within the touch tier",
                "同じタッチ内のパーセンタイル",
            ),
            "metrics" => ("Metrics", "指標"),
            "definition" => ("Definition", "定義"),
            "playbooks" => ("Playbooks", "プレイブック"),
            "version" => ("Version", "バージョン"),
            "health_distribution" => ("Health of paying accounts", "契約中の顧客のヘルス分布"),
            "no_score" => ("No score", "スコアなし"),
            "as_of" => ("As of", "基準日"),
            "accounts" => ("Accounts", "顧客数"),
            "renewals_90" => ("Renewals in the next 90 days", "90日以内の更新"),
            "renewing_arr" => ("ARR renewing", "更新対象ARR"),
            "arr_at_risk" => (
                "ARR at risk (health below 70 or unknown)",
                "リスクのあるARR（ヘルス70未満・不明）",
            ),
            "retention_trend" => (
                "Revenue retention by month (GRR, NRR)",
                "月次の収益維持率（GRR・NRR）",
            ),
            "month" => ("Month", "月"),
            "churn_by_tier" => (
                "Churn over the last 12 months by touch tier",
                "過去12か月のタッチ別チャーン",
            ),
            "churned" => ("Churned", "解約"),
            "logo_churn" => ("Logo churn", "ロゴチャーン率"),
            "health_cohorts" => (
                "Churn by health decile 90 days ago",
                "90日前のヘルス十分位別チャーン率",
            ),
            "health_cohorts_help" => (
                "Paying accounts 90 days ago, split into ten equal groups by their health score then; bars show the share that has churned since. Falling bars mean the score works.",
                "90日前に契約中だった顧客を当時のヘルススコアで10等分し、その後の解約率を示します。右に行くほど低ければスコアは機能しています。",
            ),
            "no_history" => (
                "Not enough health history yet.",
                "ヘルススコアの履歴がまだ足りません。",
            ),
            "decile" => ("Decile (score range)", "十分位（スコア範囲）"),
            "churn_rate" => ("Churn rate %", "解約率 %"),
            "my_tasks" => ("My tasks", "マイタスク"),
            "key_facts" => ("Key facts", "基本情報"),
            "plan" => ("Plan", "プラン"),
            "health" => ("Health", "ヘルススコア"),
            "health_history" => ("Health over 26 weeks", "ヘルススコアの推移（26週）"),
            "red" => ("Red", "赤"),
            "yellow" => ("Yellow", "黄"),
            "green" => ("Green", "緑"),
            "week" => ("Week", "週"),
            "drivers" => (
                "Drivers: each measure now and 30 days ago",
                "変動要因：各指標の現在と30日前",
            ),
            "measure" => ("Measure", "指標"),
            "score_now" => ("Score now", "現在"),
            "score_30d" => ("30 days ago", "30日前"),
            "change" => ("Change", "変化"),
            "weight" => ("Weight", "重み"),
            "usage" => ("Product usage per week", "週ごとの利用状況"),
            "no_usage" => ("No product usage yet.", "利用データはまだありません。"),
            "events" => ("Events", "イベント数"),
            "tasks" => ("Tasks", "タスク"),
            "no_tasks" => ("No tasks.", "タスクはありません。"),
            "task" => ("Task", "タスク"),
            "due" => ("Due", "期限"),
            "status" => ("Status", "状態"),
            "overdue" => ("Overdue", "期限切れ"),
            "done" => ("Done", "完了"),
            "new_task" => ("New task", "新しいタスク"),
            "add_task" => ("Add task", "タスクを追加"),
            "outcome" => ("Outcome", "結果"),
            "complete" => ("Complete", "完了にする"),
            "stakeholders" => ("Stakeholders", "関係者"),
            "contact" => ("Name", "氏名"),
            "role" => ("Role", "役割"),
            "personal_success" => ("Personal success", "個人の成功"),
            "subscriptions" => ("Subscriptions", "契約"),
            "mrr_timeline" => ("MRR over 24 months", "MRRの推移（24か月）"),
            "start" => ("Start", "開始"),
            "end" => ("End", "終了"),
            "touchpoints" => ("Touchpoints", "接点履歴"),
            "kind" => ("Kind", "種類"),
            "summary" => ("Summary", "内容"),
            "log_touchpoint" => ("Log touchpoint", "接点を記録"),
            "priority" => ("Priority", "優先度"),
            "priority_low" => ("Low", "低"),
            "priority_normal" => ("Normal", "中"),
            "priority_high" => ("High", "高"),
            "priority_urgent" => ("Urgent", "緊急"),
            "error" => ("Error", "エラー"),
            "unsubscribe" => ("Unsubscribe", "配信停止"),
            "unsubscribed" => (
                "You will not receive these emails any more.",
                "配信を停止しました。今後このメールは届きません。",
            ),
            "unsubscribe_question" => (
                "Stop customer success emails to",
                "カスタマーサクセスからのメール配信を停止します：",
            ),
            "bad_unsubscribe_link" => (
                "This unsubscribe link is not valid.",
                "この配信停止リンクは無効です。",
            ),
            "high" => ("High touch", "ハイタッチ"),
            "low" => ("Low touch", "ロータッチ"),
            "tech" => ("Tech touch", "テックタッチ"),
            "tagline" => (
                "Customer Success Platform",
                "カスタマーサクセス・プラットフォーム",
            ),
            _ => ("", ""),
        };
        match self {
            Lang::En => en,
            Lang::Ja => ja,
        }
    }
}

pub use mikawaya_domain::language::{group_digits, money};

/// Formats a date per language: `2026-04-01` or `2026年4月1日`.
pub fn date(date: jiff::civil::Date, lang: Lang) -> String {
    mikawaya_domain::language::date(date, lang.language())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every label a page asks for (`lang.t("...")` in the page sources) has a text in
    /// both languages: a missing key would show as an empty label.
    #[test]
    fn every_label_the_pages_use_is_translated() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("account.rs"),
            include_str!("today.rs"),
            include_str!("dashboards.rs"),
            include_str!("settings.rs"),
            include_str!("scorecards.rs"),
            include_str!("team.rs"),
            include_str!("forecast.rs"),
            include_str!("proof.rs"),
            include_str!("playbooks.rs"),
            include_str!("unsubscribe.rs"),
        ];
        let mut missing = Vec::new();
        for source in sources {
            for part in source.split("lang.t(\"").skip(1) {
                let Some(key) = part.split('"').next() else {
                    continue;
                };
                if !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    continue;
                }
                if Lang::En.t(key).is_empty() || Lang::Ja.t(key).is_empty() {
                    missing.push(key.to_owned());
                }
            }
        }
        assert!(
            missing.is_empty(),
            "labels without a translation: {missing:?}"
        );
    }

    #[test]
    fn accept_language_picks_the_first_known_language() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            axum::http::HeaderValue::from_static("fr;q=0.9, ja-JP, en"),
        );
        assert_eq!(Lang::detect(None, &headers), Lang::Ja);
        assert_eq!(Lang::detect(Some("en"), &headers), Lang::En);
    }
}
