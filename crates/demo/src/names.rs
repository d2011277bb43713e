//! Name parts for the demo company, in English and Japanese.

pub(crate) const EN_COMPANY_FIRST: &[&str] = &[
    "Acme", "Blue", "North", "Bright", "Summit", "Harbor", "Cedar", "Atlas", "Nimbus", "Orbit", "Pioneer", "Quartz", "River",
    "Silver", "Vertex", "Willow", "Zenith", "Falcon", "Granite", "Maple", "Beacon", "Crimson", "Delta", "Ember", "Frontier",
];
pub(crate) const EN_COMPANY_SECOND: &[&str] = &[
    "Analytics", "Logistics", "Health", "Foods", "Robotics", "Media", "Retail", "Energy", "Labs", "Systems", "Finance",
    "Travel", "Learning", "Studios", "Partners", "Networks", "Clinics", "Works", "Dynamics", "Security",
];
pub(crate) const EN_COMPANY_SUFFIX: &[&str] = &["Inc.", "LLC", "Ltd.", "Co.", "Group", "Corp."];
pub(crate) const EN_GIVEN: &[&str] = &[
    "Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Mia", "Lucas", "Sofia", "Ethan", "Grace", "Henry", "Chloe", "Daniel",
    "Nora", "Samuel", "Leah", "Owen", "Ruby", "Isaac",
];
pub(crate) const EN_FAMILY: &[&str] = &[
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Clark", "Lewis", "Walker",
    "Young", "King", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
];

pub(crate) const JA_COMPANY_FIRST: &[&str] = &[
    "三河屋", "桜", "富士", "青葉", "大和", "東海", "北斗", "朝日", "光", "若葉", "瑞穂", "日の出", "白鷺", "松風", "千代田",
    "紅葉", "銀河", "港", "山吹", "浪速", "武蔵", "吉祥", "泉", "葵", "駿河",
];
pub(crate) const JA_COMPANY_SECOND: &[&str] = &[
    "商事", "物流", "製作所", "食品", "不動産", "システム", "工業", "メディカル", "ホールディングス", "電機", "建設",
    "ソリューションズ", "トラベル", "教育", "フーズ", "テクノロジー", "薬品", "印刷", "運輸", "保険",
];
pub(crate) const JA_COMPANY_FORM: &[&str] = &["株式会社", "株式会社", "株式会社", "有限会社", "合同会社"];
pub(crate) const JA_FAMILY: &[&str] = &[
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木", "山口",
    "松本", "井上", "木村", "林", "斎藤", "清水",
];
pub(crate) const JA_GIVEN: &[&str] = &[
    "翔太", "陽菜", "大輔", "美咲", "健一", "さくら", "拓也", "優子", "直樹", "愛", "誠", "彩", "亮", "真由美", "浩二",
    "結衣", "学", "恵", "隆", "葵",
];
pub(crate) const ROMAJI_FAMILY: &[&str] = &[
    "sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto", "nakamura", "kobayashi", "kato", "yoshida",
    "yamada", "sasaki", "yamaguchi", "matsumoto", "inoue", "kimura", "hayashi", "saito", "shimizu",
];

pub(crate) const EN_SUMMARIES: &[&str] = &[
    "Kickoff: agreed success criteria and timeline",
    "Weekly check-in on onboarding progress",
    "Quarterly business review with executive sponsor",
    "Discussed adoption of reporting features",
    "Renewal conversation: budget confirmed",
    "Support escalation follow-up",
    "Training session for new end users",
    "Expansion opportunity: another department interested",
];
pub(crate) const JA_SUMMARIES: &[&str] = &[
    "キックオフ：成功の定義とスケジュールを合意",
    "オンボーディング進捗の定例",
    "エグゼクティブスポンサーとのQBR",
    "レポート機能の活用について相談",
    "更新に向けた打ち合わせ：予算確保済み",
    "サポート問い合わせのフォローアップ",
    "新しいエンドユーザー向けのトレーニング",
    "拡張の機会：別部署が関心あり",
];
